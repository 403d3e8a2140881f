import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodePng, encodePng } from '../../engine/image/png.ts';
import { readWorkflowSource } from '../../engine/graph/source.ts';
import { imageBatch } from '../../engine/image/image-batch.ts';

const bin = path.resolve(import.meta.dirname, '../../bin/fewstep.mjs');

function fewstep(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // A process that does not end by itself (say, a worker thread holding it) fails here instead of hanging the suite.
    execFile(process.execPath, [bin, ...args], { cwd, timeout: 180_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

function workspace() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fewstep-cli-'));
  mkdirSync(path.join(dir, 'input'));
  writeFileSync(path.join(dir, 'input', 'in.png'), encodePng(imageBatch(1, 1, 2, 2, Float32Array.from([0, 0.5, 1, 0.25]))));
  const copy = {
    last_node_id: 2,
    last_link_id: 1,
    nodes: [
      { id: 1, type: 'LoadImage', pos: [0, 0], mode: 0, outputs: [{ name: 'IMAGE', type: 'IMAGE', links: [1] }], widgets_values: ['missing.png'] },
      { id: 2, type: 'SaveImage', pos: [300, 0], mode: 0, inputs: [{ name: 'images', type: 'IMAGE', link: 1 }], widgets_values: ['copy'] },
    ],
    links: [[1, 1, 0, 2, 0, 'IMAGE']],
    version: 0.4,
  };
  writeFileSync(path.join(dir, 'copy.json'), JSON.stringify(copy));
  return dir;
}

test('run: --set by node type, --json outputs with paths; the saved PNG carries a workflow that runs again', async () => {
  const dir = workspace();
  const first = await fewstep(['run', 'copy.json', '--set', 'LoadImage.image=in.png', '--json'], dir);
  assert.equal(first.code, 0, first.stderr);
  const report = JSON.parse(first.stdout);
  assert.equal(report.status, 'success');
  const image = report.outputs['2'].images[0];
  assert.equal(image.filename, 'copy_00001_.png');
  assert.equal(image.path, path.join(dir, 'output', 'copy_00001_.png'));

  const again = await fewstep(['run', image.path, '--json'], dir);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(JSON.parse(again.stdout).outputs['2'].images[0].filename, 'copy_00002_.png');
  const bytes = readFileSync(image.path);
  assert.match(bytes.toString('latin1'), /tEXtworkflow\0.*"in\.png"/s, 'the workflow in the PNG has the --set value');
});

test('run: workflows/four-step.json on the shipped model writes its images and the process ends by itself', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fewstep-cli-model-'));
  const workflow = path.resolve(import.meta.dirname, '../../workflows/four-step.json');
  const result = await fewstep(['run', workflow, '--out', dir, '--set', 'FewStepSampler.batch_size=2', '--json'], path.resolve(import.meta.dirname, '../..'));
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assert.equal(report.status, 'success', result.stdout);
  assert.ok(readdirSync(dir).filter((f) => f.endsWith('.png')).length === 2, `two PNGs in ${dir}: ${readdirSync(dir).join(', ')}`);
});

test('run: a seed control of "randomize" changes nothing headless: the saved workflow keeps the seed used, and runs again to the same image', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fewstep-cli-seed-'));
  const workflow = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../workflows/four-step.json'), 'utf8'));
  const sampler = workflow.nodes.find((n: { type: string }) => n.type === 'FewStepSampler');
  sampler.widgets_values[1] = 'randomize';
  writeFileSync(path.join(dir, 'random.json'), JSON.stringify(workflow));
  const cwd = path.resolve(import.meta.dirname, '../..');
  const first = await fewstep(
    ['run', path.join(dir, 'random.json'), '--out', dir, '--set', 'FewStepSampler.seed=7', '--set', 'FewStepSampler.batch_size=1', '--json'],
    cwd,
  );
  assert.equal(first.code, 0, first.stderr);
  const saved = JSON.parse(first.stdout).outputs['5'].images[0].path;
  const source = readWorkflowSource(readFileSync(saved), 'saved.png');
  assert.ok(source.ok && source.kind === 'workflow');
  const savedSampler = (source.workflow as typeof workflow).nodes.find((n: { type: string }) => n.type === 'FewStepSampler');
  assert.deepEqual(savedSampler.widgets_values, [7, 'randomize', 1, 1.5, 'dpmpp_2m', 0]);

  const again = await fewstep(['run', saved, '--out', dir, '--json'], cwd);
  assert.equal(again.code, 0, again.stderr);
  const rerun = JSON.parse(again.stdout).outputs['5'].images[0].path;
  assert.notEqual(rerun, saved);
  assert.deepEqual(decodePng(readFileSync(rerun)).image.data, decodePng(readFileSync(saved)).image.data, 'same seed, same image');
});

test('run: a node that fails exits 1 with the node named', async () => {
  const dir = workspace();
  // A PNG whose header is fine (so it validates) but whose pixels are not.
  const png = encodePng(imageBatch(1, 1, 2, 2));
  writeFileSync(path.join(dir, 'input', 'broken.png'), Buffer.concat([png.subarray(0, 33), Buffer.from('IDAT garbage, no pixels here')]));
  const result = await fewstep(['run', 'copy.json', '--set', 'LoadImage.image=broken.png'], dir);
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /LoadImage \(node 1\).*broken\.png/);
});

test('run: a missing image is an invalid workflow (exit 2) naming the file relative to the input folder', async () => {
  const dir = workspace();
  const result = await fewstep(['run', 'copy.json'], dir);
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /"missing\.png" does not exist in the input folder/);
  assert.ok(!result.stderr.includes(dir), `no machine path in: ${result.stderr}`);
});

test('user errors are one line naming the file, exit 2, no stack trace', async () => {
  const dir = workspace();
  writeFileSync(path.join(dir, 'bad.json'), '{ "nodes": ');
  writeFileSync(path.join(dir, 'plain.png'), encodePng(imageBatch(1, 1, 2, 2)));
  const cases: Array<[string[], RegExp]> = [
    [['run', 'nope.json'], /nope\.json: cannot read it \(ENOENT\)/],
    [['run', 'bad.json'], /bad\.json: not JSON/],
    [['run', 'plain.png'], /plain\.png: this PNG carries no workflow/],
    [['run', 'copy.json', '--set', 'Sampler.seed=1'], /no node has id, type or title "Sampler"/],
    [['run', 'copy.json', '--set', 'LoadImage.nope=1'], /has no widget "nope"/],
    [['run', 'copy.json', '--set', 'oops'], /expected NODE\.INPUT=VALUE/],
  ];
  for (const [args, message] of cases) {
    const result = await fewstep(args, dir);
    assert.equal(result.code, 2, args.join(' '));
    assert.match(result.stderr, message);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  }
});

test('validate lists every problem by node id and input name, exit 2', async () => {
  const dir = workspace();
  const prompt = {
    '1': { class_type: 'LoadImage', inputs: { image: 5 } },
    '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: '' } },
    '3': { class_type: 'KSampler', inputs: {} },
  };
  writeFileSync(path.join(dir, 'api.json'), JSON.stringify(prompt));
  const result = await fewstep(['validate', 'api.json'], dir);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /KSampler/);
  const json = await fewstep(['validate', 'api.json', '--json'], dir);
  const body = JSON.parse(json.stdout);
  assert.deepEqual(Object.keys(body.node_errors).sort(), ['1', '2', '3']);
  assert.equal(body.node_errors['1'].errors[0].extra_info.input_name, 'image');
  // validate looks in the input folder `run` would use (--input): the image copy.json names is not in ./input.
  const missing = await fewstep(['validate', 'copy.json'], dir);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /"missing\.png" does not exist in the input folder/);
  mkdirSync(path.join(dir, 'other'));
  writeFileSync(path.join(dir, 'other', 'missing.png'), encodePng(imageBatch(1, 1, 2, 2)));
  assert.equal((await fewstep(['validate', 'copy.json', '--input', 'other'], dir)).code, 0);
});

test('convert: UI -> prompt -> UI, and nodes --json is /object_info', async () => {
  const dir = workspace();
  const toPrompt = await fewstep(['convert', 'copy.json', '--to', 'prompt'], dir);
  assert.deepEqual(JSON.parse(toPrompt.stdout), {
    '1': { class_type: 'LoadImage', inputs: { image: 'missing.png' } },
    '2': { class_type: 'SaveImage', inputs: { filename_prefix: 'copy', images: ['1', 0] } },
  });
  writeFileSync(path.join(dir, 'api.json'), toPrompt.stdout);
  const toUi = await fewstep(['convert', 'api.json', '--to', 'ui'], dir);
  assert.equal(JSON.parse(toUi.stdout).links.length, 1);
  const nodes = JSON.parse((await fewstep(['nodes', '--json'], dir)).stdout);
  assert.deepEqual(nodes.SaveImage.input.required.filename_prefix[0], 'STRING');
  assert.equal(nodes.SaveImage.output_node, true);
});
