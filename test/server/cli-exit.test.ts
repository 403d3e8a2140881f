import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';

/*
 * Every command ends when its work is done, as a process: runs big enough to start the model's
 * CPU worker threads (engine/onnx/executors.ts) used to write their images and then never exit.
 * Each process here must end by itself, exit code 0, within a generous limit (not a timing).
 */

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/fewstep.mjs');
const LIMIT_MS = 240_000;
// Two worker threads whatever the machine has, so the batch split exists to be started.
const env = { ...process.env, FEWSTEP_ORT_WORKERS: '2' };

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  hung: boolean;
}

/** Runs a process to its end; one still running after the limit is killed and reported as hung. */
function runToEnd(args: string[], options: { cwd?: string; onStdout?: (text: string, child: ReturnType<typeof spawn>) => void } = {}): Promise<Ended> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: options.cwd ?? root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, LIMIT_MS);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      options.onStdout?.(stdout, child);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, hung });
    });
  });
}

function assertEnded(ended: Ended, what: string): void {
  assert.ok(!ended.hung, `${what}: still running after ${LIMIT_MS / 1000} s (killed); stderr: ${ended.stderr.slice(-500)}`);
  assert.equal(ended.code, 0, `${what}: exit ${ended.code} ${ended.signal ?? ''}; stderr: ${ended.stderr.slice(-2000)}`);
}

const pngs = (dir: string) => readdirSync(dir).filter((name) => name.endsWith('.png'));

describe('processes end by themselves when their work is done', { timeout: 30 * 60_000 }, () => {
  it('a model whose worker threads started but never ran a batch lets the process end', async () => {
    const script = `
      const { SegmentedModel, DEFAULT_MODELS_ROOT } = await import('./engine/onnx/index.ts');
      const model = await SegmentedModel.load(DEFAULT_MODELS_ROOT + '/fmnist', { provider: 'cpu', splitAfterSeconds: 0, workers: 2 });
      console.log('threads', model.threads);`;
    const ended = await runToEnd(['--import', 'tsx', '--input-type=module', '-e', script]);
    assertEnded(ended, 'a loaded model with its split started');
    assert.match(ended.stdout, /threads 2/, 'the worker threads were running');
  });

  it('fewstep run workflows/four-step.json with batch 40 writes its 40 images and exits 0', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'fewstep-exit-'));
    const ended = await runToEnd([bin, 'run', 'workflows/four-step.json', '--out', out, '--set', 'FewStepSampler.batch_size=40']);
    assertEnded(ended, 'four-step batch 40');
    assert.equal(pngs(out).length, 40);
  });

  // Big enough to start the worker threads (about a second of model work), small enough for a test.
  const overrides: Record<string, string[]> = {
    'baseline-100-step.json': ['StepScheduler.steps=30', 'FewStepSampler.batch_size=24'],
    'four-step.json': ['FewStepSampler.batch_size=24'],
  };
  const shipped = readdirSync(path.join(root, 'workflows'))
    .filter((name) => name.endsWith('.json'))
    .sort();
  for (const name of shipped) {
    it(`fewstep run workflows/${name} ends by itself, exit 0`, async () => {
      const out = mkdtempSync(path.join(os.tmpdir(), 'fewstep-exit-'));
      const sets = (overrides[name] ?? ['FewStepSampler.batch_size=24']).flatMap((set) => ['--set', set]);
      const ended = await runToEnd([bin, 'run', path.join('workflows', name), '--out', out, ...sets]);
      assertEnded(ended, name);
      assert.ok(pngs(out).length > 0, `${name} saved images`);
    });
  }

  it('fewstep serve ends on SIGTERM after a prompt that ran the worker threads', async () => {
    const folder = mkdtempSync(path.join(os.tmpdir(), 'fewstep-serve-exit-'));
    const folders = JSON.stringify({ input: path.join(folder, 'input'), output: path.join(folder, 'output'), temp: path.join(folder, 'temp') });
    const script = `
      const { startServer } = await import('./server/serve.ts');
      const server = await startServer({ host: '127.0.0.1', port: 0, folders: ${folders}, editor: false });
      console.log('PORT ' + server.address().port);`;
    let asked = false;
    const workflow = JSON.parse((await import('node:fs')).readFileSync(path.join(root, 'workflows/four-step.json'), 'utf8'));
    // [seed, control_after_generate, batch_size, cfg, sampler, eta]
    workflow.nodes.find((node: { type: string }) => node.type === 'FewStepSampler').widgets_values[2] = 40;
    const ended = await runToEnd(['--import', 'tsx', '--input-type=module', '-e', script], {
      onStdout: (text, child) => {
        const port = /PORT (\d+)/.exec(text)?.[1];
        if (!port || asked) return;
        asked = true;
        void (async () => {
          const base = `http://127.0.0.1:${port}`;
          const queued = (await (
            await fetch(`${base}/prompt`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: workflow }) })
          ).json()) as { prompt_id?: string };
          if (!queued.prompt_id) throw new Error(`the prompt was refused: ${JSON.stringify(queued)}`);
          for (;;) {
            const history = (await (await fetch(`${base}/history/${queued.prompt_id}`)).json()) as Record<string, unknown>;
            if (history[queued.prompt_id]) break;
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
          child.kill('SIGTERM');
        })().catch(() => child.kill('SIGKILL'));
      },
    });
    assertEnded(ended, 'serve after SIGTERM');
    assert.equal(pngs(path.join(folder, 'output')).length, 40);
  });
});
