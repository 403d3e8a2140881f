import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CallWrapper, ComfyApi, PromptBuilder } from '@saintno/comfyui-sdk';
import { decodePng } from '../../engine/index.ts';
import { testPng } from './helpers.ts';
import { haveModel, savedImages, startSdkServer, type ApiPrompt, type SdkServer } from './sdk-fixture.ts';

interface Run {
  result: unknown;
  events: string[];
  progress: Array<{ value: number; max: number }>;
  previews: number;
  outputs: Record<string, unknown>;
  finished?: { images?: { images: Array<{ filename: string; subfolder: string; type: string }> } };
  failure?: Error;
  promptId?: string;
}

/** Runs a prompt through the SDK's CallWrapper, recording every callback. */
async function callWrapper(api: ComfyApi, prompt: ApiPrompt, output = '5', onProgress?: (value: number) => void): Promise<Run> {
  const run: Run = { result: undefined, events: [], progress: [], previews: 0, outputs: {} };
  // The SDK's prompt type wants each node's _meta title, as ComfyUI's API export writes it.
  const titled = Object.fromEntries(Object.entries(prompt).map(([id, node]) => [id, { ...node, _meta: { title: node.class_type } }]));
  const builder = new PromptBuilder(titled, [], ['images']).setOutputNode('images', output as never);
  run.result = await new CallWrapper(api, builder)
    .onPending((id) => {
      run.events.push('pending');
      run.promptId = id;
    })
    .onStart(() => run.events.push('start'))
    .onProgress((info) => {
      run.progress.push({ value: info.value, max: info.max });
      onProgress?.(info.value);
    })
    .onPreview(() => run.previews++)
    .onOutput((key, data) => {
      run.events.push(`output:${key}`);
      run.outputs[key] = data;
    })
    .onFinished((data) => {
      run.events.push('finished');
      run.finished = data as Run['finished'];
    })
    .onFailed((error) => {
      run.events.push(`failed:${error.name}`);
      run.failure = error;
    })
    .run();
  return run;
}

describe('@saintno/comfyui-sdk 0.3.1 against a real fewstep server', { timeout: 300_000, skip: haveModel ? false : 'no model under models/' }, () => {
  let s: SdkServer;
  let api: ComfyApi;
  before(async () => {
    s = await startSdkServer();
    api = new ComfyApi(s.base, 'saintno-test').init();
    await api.waitForReady();
  });
  after(async () => {
    api.destroy();
    await s.close();
  });

  it('cold and warm: CallWrapper gets start, progress, previews, the output and finished, with the SaveImage images', async () => {
    for (const [label, seed] of [
      ['cold', 1],
      ['warm', 2],
    ] as const) {
      const run = await callWrapper(api, s.fourStep({ seed }));
      assert.equal(run.failure, undefined, `${label}: ${run.failure?.message}`);
      assert.deepEqual(run.events, ['pending', 'start', 'output:images', 'finished'], label);
      assert.ok(run.progress.length >= 1, `${label}: progress callbacks`);
      assert.deepEqual(run.progress.at(-1), { value: 4, max: 4 }, label);
      assert.ok(run.previews >= 1, `${label}: previews`);
      const images = await savedImages(s.base, run.promptId!);
      assert.equal(images.length, 2);
      assert.deepEqual(run.finished?.images?.images, images, `${label}: the result is what SaveImage saved`);
      for (const image of images) {
        const response = await fetch(api.getPathImage(image as never));
        assert.equal(response.status, 200);
        assert.deepEqual([decodePng(Buffer.from(await response.arrayBuffer())).image.width], [28]);
      }
    }
  });

  it('a resubmitted identical prompt finishes with the same images (everything cached)', async () => {
    const first = await callWrapper(api, s.fourStep({ seed: 7 }));
    const again = await callWrapper(api, s.fourStep({ seed: 7 }));
    assert.equal(again.failure, undefined, again.failure?.message);
    assert.ok(again.events.includes('finished'), again.events.join(', '));
    assert.deepEqual(again.finished?.images?.images, first.finished?.images?.images);
    const third = await callWrapper(api, s.fourStep({ seed: 7 }));
    assert.deepEqual(third.finished?.images?.images, first.finished?.images?.images);
  });

  it('an interrupt is reported as an interruption, and the next prompt runs', async () => {
    let interrupted = false;
    const run = await callWrapper(api, s.fourStep({ seed: 3, steps: 400, batch: 8 }), '5', () => {
      if (!interrupted) void api.interrupt();
      interrupted = true;
    });
    assert.equal(run.result, false);
    assert.equal(run.failure?.name, 'ExecutionInterruptedError', run.events.join(', '));
    const history = (await (await fetch(`${s.base}/history/${run.promptId}`)).json())[run.promptId!];
    assert.ok(history.status.messages.some(([name]: [string]) => name === 'execution_interrupted'));
    const next = await callWrapper(api, s.fourStep({ seed: 4 }));
    assert.deepEqual(next.events, ['pending', 'start', 'output:images', 'finished']);
  });

  it('freeMemory() is answered, and the next identical prompt runs again', async () => {
    const first = await callWrapper(api, s.fourStep({ seed: 40 }));
    assert.equal(await api.freeMemory(true, true), true);
    const again = await callWrapper(api, s.fourStep({ seed: 40 }));
    assert.deepEqual(again.events, ['pending', 'start', 'output:images', 'finished'], 'ran again, not from the cache');
    assert.notDeepEqual(again.finished?.images?.images, first.finished?.images?.images, 'new files');
  });

  it('uploads a PNG that LoadImage then reads back, pixel for pixel', async () => {
    const png = testPng(12, 10);
    const uploaded = await api.uploadImage(png, 'sdk-upload.png');
    assert.ok(uploaded, 'upload accepted');
    assert.equal(uploaded.info.filename, 'sdk-upload.png');
    const served = Buffer.from(await (await fetch(uploaded.url)).arrayBuffer());
    assert.deepEqual(served, png);
    const prompt: ApiPrompt = {
      '1': { class_type: 'LoadImage', inputs: { image: uploaded.info.filename } },
      '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'roundtrip' } },
    };
    const run = await callWrapper(api, prompt, '2');
    assert.equal(run.failure, undefined, run.failure?.message);
    const [image] = run.finished!.images!.images;
    const saved = decodePng(Buffer.from(await (await fetch(api.getPathImage(image as never))).arrayBuffer())).image;
    assert.deepEqual(saved.data, decodePng(png).image.data);
  });
});
