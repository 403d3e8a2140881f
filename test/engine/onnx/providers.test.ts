import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import { cudaAvailability, executionProvidersFor, preferredProvider, providerSettingFromEnv, withProviderFallback } from '../../../engine/onnx/providers.ts';
import { SegmentedModel } from '../../../engine/onnx/segmented-model.ts';
import { syntheticModelCopy } from './helpers.ts';

describe('execution providers', () => {
  it('reads FEWSTEP_EP, defaulting to cpu and reporting unknown values once', () => {
    const lines: string[] = [];
    assert.equal(providerSettingFromEnv({}), 'cpu');
    assert.equal(providerSettingFromEnv({ FEWSTEP_EP: 'CUDA' }), 'cuda');
    assert.equal(providerSettingFromEnv({ FEWSTEP_EP: 'auto' }), 'auto');
    assert.equal(
      providerSettingFromEnv({ FEWSTEP_EP: 'tpu' }, (line) => lines.push(line)),
      'cpu',
    );
    assert.deepEqual(lines, ['FEWSTEP_EP=tpu is not one of cpu, cuda, auto; using cpu']);
  });

  it('sees CUDA only where the provider library is installed', () => {
    const listed = ort.listSupportedBackends().find((b) => b.name === 'cuda');
    const cuda = cudaAvailability();
    if (!listed) assert.equal(cuda.available, false);
    assert.equal(typeof cuda.reason, 'string');
    assert.deepEqual(executionProvidersFor('cuda'), ['cuda', 'cpu']);
    assert.deepEqual(executionProvidersFor('cpu'), ['cpu']);
  });

  it('says one line when CUDA is asked for but absent, none for auto', () => {
    const lines: string[] = [];
    const absent = () => ({ available: false, reason: 'no library' });
    assert.equal(
      preferredProvider('cuda', (l) => lines.push(l), absent),
      'cpu',
    );
    assert.equal(
      preferredProvider('auto', (l) => lines.push(l), absent),
      'cpu',
    );
    assert.deepEqual(lines, ['CUDA requested but unavailable: no library; running on CPU']);
    assert.equal(
      preferredProvider('auto', undefined, () => ({ available: true, reason: 'staged' })),
      'cuda',
    );
  });

  it('falls back to CPU with one line when CUDA sessions fail to create', async () => {
    const lines: string[] = [];
    const tried: string[] = [];
    const result = await withProviderFallback(
      'cuda',
      async (provider) => {
        tried.push(provider);
        if (provider === 'cuda') throw new Error('CUDA driver version is insufficient\nmore detail');
        return 42;
      },
      (l) => lines.push(l),
      () => ({ available: true, reason: 'staged' }),
    );
    assert.deepEqual(result, { value: 42, provider: 'cpu' });
    assert.deepEqual(tried, ['cuda', 'cpu']);
    assert.deepEqual(lines, ['CUDA session creation failed (CUDA driver version is insufficient); running on CPU']);
  });

  it('a model asked to run on CUDA here reports the provider it really uses', async () => {
    const copy = await syntheticModelCopy();
    const lines: string[] = [];
    const model = await SegmentedModel.load(copy.dir, { provider: 'cuda', log: (l) => lines.push(l) });
    if (!cudaAvailability().available) {
      assert.equal(model.provider, 'cpu');
      assert.equal(lines.length, 1);
    }
    await model.dispose();
    await copy.cleanup();
  });
});
