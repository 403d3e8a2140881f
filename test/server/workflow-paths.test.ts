import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createFewstepSetup } from '../../server/setup.ts';
import { postJson, startTestServer, type TestServer } from './helpers.ts';

/*
 * Paths a workflow names (RewardScorer's onnx_path, LoadImage's image) through every door: POST
 * /prompt, POST /train, POST /workflow/parse and the CLI. Outside its folder, every path gets the
 * same answer, so no answer tells whether a file exists on the machine.
 */

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/fewstep.mjs');
const readWorkflow = (name: string) => JSON.parse(readFileSync(path.join(root, 'workflows', name), 'utf8'));
const OUTSIDE = ['/etc/passwd', '/etc/shadow', '/no/such/file.onnx', '../../../../../../etc/hostname', '../README.md', '../no-such.onnx'];

function scorerPrompt(onnxPath: string) {
  return {
    '1': { class_type: 'LoadModel', inputs: { model_name: 'fmnist' } },
    '2': { class_type: 'ClassLabel', inputs: { label: 'Sneaker' } },
    '3': { class_type: 'StepScheduler', inputs: { model: ['1', 0], steps: 2, spacing: 'trailing' } },
    '4': {
      class_type: 'FewStepSampler',
      inputs: { model: ['1', 0], conditioning: ['2', 0], schedule: ['3', 0], seed: 1, batch_size: 2, cfg: 1.5, sampler: 'ddim', eta: 0 },
    },
    '5': {
      class_type: 'RewardScorer',
      inputs: {
        images: ['4', 0],
        conditioning: ['2', 0],
        model: ['1', 0],
        confidence_weight: 0,
        fd_weight: 0,
        jpeg_weight: 0,
        onnx_weight: 1,
        onnx_path: onnxPath,
        onnx_input_size: 28,
      },
    },
  };
}

/** An answer with the path as given taken out (quoted as in a message, and that quoted again inside JSON). */
const shape = (text: string, given: string) => {
  const quoted = JSON.stringify(given);
  return text.split(JSON.stringify(quoted).slice(1, -1)).join('<path>').split(quoted).join('<path>');
};

describe('paths a workflow names stay inside their folders, through every door', () => {
  const setup = createFewstepSetup();
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ engine: setup.engine, store: setup.store });
  });
  after(async () => {
    await t.close();
    await setup.store.dispose();
  });

  it('POST /prompt: one and the same 400 for every onnx_path outside models/, existing or not', async () => {
    const answers = new Set<string>();
    for (const given of OUTSIDE) {
      const { status, body } = await postJson(`${t.base}/prompt`, { prompt: scorerPrompt(given) });
      assert.equal(status, 400, given);
      answers.add(shape(JSON.stringify(body), given));
    }
    assert.equal(answers.size, 1, [...answers].join('\n'));
    assert.match([...answers][0], /onnx_path: <path> is not inside the models folder/);
  });

  it('POST /prompt: LoadImage names outside input/ all read the same; a missing one is named relative to it', async () => {
    const loadImage = (image: string) => ({
      '1': { class_type: 'LoadImage', inputs: { image } },
      '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'x' } },
    });
    const answers = new Set<string>();
    writeFileSync(path.join(t.root, 'secret.png'), readFileSync(path.join(t.folders.input, 'in.png')));
    for (const given of ['/etc/passwd', '/no/such.png', '../secret.png', '../../../etc/hostname', '../nope.png', path.join(t.root, 'secret.png')]) {
      const { status, body } = await postJson(`${t.base}/prompt`, { prompt: loadImage(given) });
      assert.equal(status, 400, given);
      answers.add(shape(JSON.stringify(body), given));
    }
    assert.equal(answers.size, 1, [...answers].join('\n'));
    const missing = await postJson(`${t.base}/prompt`, { prompt: loadImage('sub/gone.png') });
    assert.equal(missing.status, 400);
    assert.match(JSON.stringify(missing.body), /\\"sub\/gone\.png\\" does not exist in the input folder/);
    assert.ok(!JSON.stringify(missing.body).includes(t.root), 'no machine path');
  });

  it('POST /train: the same answer for every onnx_path outside models/', async () => {
    const answers = new Set<string>();
    for (const given of OUTSIDE) {
      const workflow = readWorkflow('learn-schedule.json');
      const scorer = workflow.nodes.find((node: { type: string }) => node.type === 'RewardScorer');
      scorer.widgets_values[3] = 1; // onnx_weight
      scorer.widgets_values[4] = given; // onnx_path
      const { status, body } = await postJson(`${t.base}/train`, { prompt: workflow, settings: { iterations: 1 } });
      assert.equal(status, 400, `${given}: ${JSON.stringify(body)}`);
      answers.add(shape(JSON.stringify(body), given));
    }
    assert.equal(answers.size, 1, [...answers].join('\n'));
    assert.match([...answers][0], /is not inside the models folder/);
  });

  it('POST /workflow/parse answers alike whatever the path names', async () => {
    const answers = new Set<string>();
    for (const given of OUTSIDE) {
      const response = await fetch(`${t.base}/workflow/parse?name=p.json`, { method: 'POST', body: JSON.stringify(scorerPrompt(given)) });
      assert.equal(response.status, 200, given);
      answers.add(shape(await response.text(), given));
    }
    assert.equal(answers.size, 1);
  });

  it('the CLI (validate and run): exit 2 and the same message for every path outside', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fewstep-cli-paths-'));
    const cli = (args: string[]) =>
      new Promise<{ code: number; stderr: string }>((resolve) => {
        execFile(process.execPath, [bin, ...args], { cwd: dir, timeout: 120_000 }, (error, _stdout, stderr) =>
          resolve({ code: error ? Number(error.code ?? 1) : 0, stderr }),
        );
      });
    const answers = new Set<string>();
    for (const [index, given] of ['/etc/passwd', '/no/such.onnx', '../../../../etc/hostname'].entries()) {
      const file = path.join(dir, `p${index}.json`);
      writeFileSync(file, JSON.stringify(scorerPrompt(given)));
      for (const command of ['validate', 'run']) {
        const { code, stderr } = await cli([command, file]);
        assert.equal(code, 2, `${command} ${given}: ${stderr}`);
        answers.add(shape(stderr, given).replace(file, '<file>'));
      }
    }
    assert.equal(answers.size, 1, [...answers].join('\n'));
    assert.match([...answers][0], /<path> is not inside the models folder/);
  });
});
