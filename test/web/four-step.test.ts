import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { createServer, type FewstepServer } from '../../server/app.ts';
import { createFewstepSetup } from '../../server/setup.ts';
import { EDITOR_DIST, ensureEditorBuilt } from '../../server/web-build.ts';
import { ARTIFACTS, launchChromium, nodes, watchConsole } from './browser.ts';

// The shipped graph on the shipped model: runs once the default model is built into models/.
const { engine, store } = createFewstepSetup();
const haveModel = engine.models.list().length > 0;

describe('four-step.json in the editor on the default model', {
  timeout: 120000,
  skip: haveModel ? false : 'no model under models/ yet (build it with models/recipe)',
}, () => {
  let server: FewstepServer;
  let chrome: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  let problems: string[];
  let root: string;

  before(async () => {
    await ensureEditorBuilt();
    root = mkdtempSync(path.join(os.tmpdir(), 'fewstep-four-step-'));
    const folders = { input: path.join(root, 'input'), output: path.join(root, 'output'), temp: path.join(root, 'temp') };
    for (const folder of Object.values(folders)) mkdirSync(folder, { recursive: true });
    server = createServer({ engine, store, folders, webDir: EDITOR_DIST, workflowsDir: path.resolve('workflows') });
    const { port } = await server.listen(0, '127.0.0.1');
    chrome = await launchChromium();
    page = await chrome.context.newPage();
    problems = watchConsole(page);
    await page.goto(`http://127.0.0.1:${port}`);
    await page.locator('#connection.online').waitFor();
  });

  after(async () => {
    await chrome?.close();
    await server?.close();
    await store.dispose();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('loads four-step from the examples menu, queues it and shows the image in SaveImage', async () => {
    await page.waitForFunction(() => (window as any).fewstep?.graph);
    await page.selectOption('#examples', 'four-step');
    await page.waitForFunction(() => (window as any).fewstep.graph._nodes.some((n: any) => n.type === 'FewStepSampler'));
    await page.click('#queue-button');
    try {
      await page.waitForFunction(
        () =>
          (window as any).fewstep.graph._nodes.some(
            (n: any) => n.type === 'SaveImage' && n.fewstep?.images?.some((img: HTMLImageElement) => img.complete && img.naturalWidth > 0),
          ),
        undefined,
        { timeout: 60000 },
      );
    } finally {
      await page.screenshot({ path: path.join(ARTIFACTS, 'four-step.png') });
    }
    const saved = (await nodes(page)).find((n) => n.type === 'SaveImage')!;
    assert.match(saved.images[0], /^four-step_\d{5}_\.png$/);
    assert.ok(!(await nodes(page)).some((n) => n.hasErrors));
    assert.deepEqual(problems, []);
  });

  it('trains learn-schedule with the Train button: live reward chart, then the learned schedule lands in the graph', async () => {
    assert.equal(await page.isHidden('#train-button'), true, 'four-step has nothing to learn: no Train button');
    await page.selectOption('#examples', 'learn-schedule');
    await page.locator('#train-button').waitFor({ state: 'visible' });
    const learnedBefore = await page.evaluate(
      () => (window as any).fewstep.graph._nodes.find((n: any) => n.type === 'StepScheduler').widgets.find((w: any) => w.name === 'learned').value,
    );
    // A short run: the server's defaults take minutes.
    await page.evaluate(
      () => ((window as any).fewstep.training.overrides = { iterations: 2, group: 2, batch: 10, heldOut: 20, evaluateEvery: 1, patience: 0 }),
    );
    await page.fill('#train-minutes', '2');
    await page.click('#train-button');
    await page.locator('#train-button.busy').waitFor();
    await page.locator('#training-panel').waitFor({ state: 'visible' });
    try {
      await page.locator('#training-plot').waitFor({ state: 'visible', timeout: 90000 });
    } finally {
      await page.screenshot({ path: path.join(ARTIFACTS, 'train-button.png') });
    }
    assert.match((await page.textContent('#training-label')) ?? '', /training done · reward -?\d+\.\d{4} · held-out FD \d+\.\d{3}/);
    assert.equal(await page.textContent('#train-button'), 'Train');
    const learned = await page.evaluate(
      () => (window as any).fewstep.graph._nodes.find((n: any) => n.type === 'StepScheduler').widgets.find((w: any) => w.name === 'learned').value,
    );
    assert.notEqual(learned, learnedBefore);
    assert.equal(JSON.parse(learned).training.iterations, 2, 'the learned schedule is in the graph, ready to queue or save');
    const plot = await page.evaluate(async () =>
      (await fetch((document.getElementById('training-plot') as HTMLAnchorElement).href)).headers.get('content-type'),
    );
    assert.equal(plot, 'image/png');
    assert.deepEqual(problems, []);
  });
});
