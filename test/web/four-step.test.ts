import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { createServer, type FewstepServer } from '../../server/app.ts';
import { createFewstepEngine } from '../../server/setup.ts';
import { EDITOR_DIST, ensureEditorBuilt } from '../../server/web-build.ts';
import { ARTIFACTS, launchChromium, nodes, watchConsole } from './browser.ts';

// The shipped graph on the shipped model: runs once the default model is built into models/.
const engine = createFewstepEngine();
const haveModel = engine.models.list().length > 0;

describe('four-step.json in the editor on the default model', { timeout: 120000, skip: haveModel ? false : 'no model under models/ yet (build it with models/recipe)' }, () => {
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
    server = createServer({ engine, folders, webDir: EDITOR_DIST, workflowsDir: path.resolve('workflows') });
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
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('loads four-step from the examples menu, queues it and shows the image in SaveImage', async () => {
    await page.waitForFunction(() => (window as any).fewstep?.graph);
    await page.selectOption('#examples', 'four-step');
    await page.waitForFunction(() => (window as any).fewstep.graph._nodes.some((n: any) => n.type === 'FewStepSampler'));
    await page.click('#queue-button');
    try {
      await page.waitForFunction(
        () => (window as any).fewstep.graph._nodes.some((n: any) => n.type === 'SaveImage' && n.fewstep?.images?.some((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)),
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
});
