import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import {
  ARTIFACTS,
  dropFile,
  graphShape,
  loadExample,
  nodes,
  openEditor,
  socketPosition,
  titlePoint,
  until,
  widgetPoint,
  type EditorSession,
} from './browser.ts';

const count = (page: Page) => page.evaluate(() => (window as any).app.graph._nodes.length as number);
const links = (page: Page) =>
  page.evaluate(
    () =>
      (window as any).app.graph
        .serialize()
        .links.map((l: unknown[]) => l.slice(1, 5).join(','))
        .sort() as string[],
  );
const menuEntries = (page: Page) => page.locator('.litecontextmenu .litemenu-entry').allTextContents();

describe('the editor loses no work', { timeout: 120000 }, () => {
  let session: EditorSession;
  let page: Page;

  before(async () => {
    session = await openEditor();
    page = session.page;
    await loadExample(page, 'four-step');
  });

  after(async () => {
    await session?.close();
  });

  it('exposes window.app with app.graph and app.canvas, as ComfyUI does', async () => {
    const app = await page.evaluate(() => {
      const { app } = window as any;
      return {
        nodes: app.graph._nodes.map((n: any) => n.type),
        sameGraph: app.canvas.graph === app.graph,
        canvasElement: app.canvas.canvas === document.getElementById('graph-canvas'),
        queuePrompt: typeof app.queuePrompt,
        loadGraphData: typeof app.loadGraphData,
      };
    });
    assert.deepEqual(app.nodes, ['LoadModel', 'ClassLabel', 'StepScheduler', 'FewStepSampler', 'SaveImage']);
    assert.equal(app.sameGraph, true);
    assert.equal(app.canvasElement, true);
    assert.equal(app.queuePrompt, 'function');
    assert.equal(app.loadGraphData, 'function');
  });

  it('undoes and redoes a deleted node with Ctrl+Z, Ctrl+Shift+Z and Ctrl+Y', async () => {
    const shapeBefore = await graphShape(page);
    const linksBefore = await links(page);
    const label = await titlePoint(page, 2);
    await page.mouse.click(label.x, label.y);
    await page.keyboard.press('Delete');
    await until(
      () => count(page),
      (n) => n === 4,
      'the node deleted',
    );
    assert.equal((await links(page)).length, linksBefore.length - 1);
    await page.keyboard.press('Control+z');
    await until(
      () => count(page),
      (n) => n === 5,
      'the node back after Ctrl+Z',
    );
    assert.deepEqual(await graphShape(page), shapeBefore);
    assert.deepEqual(await links(page), linksBefore, 'its link is back too');
    assert.equal((await nodes(page)).find((n) => n.id === 2)?.widgets.label, 'Sneaker');
    await page.keyboard.press('Control+Shift+z');
    await until(
      () => count(page),
      (n) => n === 4,
      'deleted again after Ctrl+Shift+Z',
    );
    await page.keyboard.press('Control+z');
    await until(
      () => count(page),
      (n) => n === 5,
      'back again',
    );
    await page.keyboard.press('Control+y');
    await until(
      () => count(page),
      (n) => n === 4,
      'deleted again after Ctrl+Y',
    );
    await page.click('#undo-button');
    await until(
      () => count(page),
      (n) => n === 5,
      'back with the toolbar undo',
    );
  });

  it('undoes graph changes: a moved node and a changed widget value', async () => {
    const start = (await nodes(page)).find((n) => n.id === 1)!.pos;
    const grab = await titlePoint(page, 1);
    await page.mouse.move(grab.x, grab.y);
    await page.mouse.down();
    await page.mouse.move(grab.x + 120, grab.y + 60, { steps: 8 });
    await page.mouse.up();
    const moved = await until(
      () => nodes(page),
      (n) => n.find((x) => x.id === 1)!.pos[0] !== start[0],
      'the node moved',
    );
    assert.ok(moved.find((x) => x.id === 1)!.pos[0] > start[0] + 60);
    await page.keyboard.press('Control+z');
    await until(
      () => nodes(page),
      (n) => n.find((x) => x.id === 1)!.pos[0] === start[0],
      'the move undone',
    );
    assert.deepEqual((await nodes(page)).find((n) => n.id === 1)!.pos, start);

    // The increment arrow at the right end of StepScheduler's steps widget: 4 -> 5.
    const arrow = await widgetPoint(page, 3, 'steps', 1);
    await page.mouse.click(arrow.x - 4, arrow.y);
    await until(
      () => nodes(page),
      (n) => n.find((x) => x.id === 3)!.widgets.steps === 5,
      'steps raised to 5',
    );
    await page.keyboard.press('Control+z');
    await until(
      () => nodes(page),
      (n) => n.find((x) => x.id === 3)!.widgets.steps === 4,
      'steps back to 4',
    );
  });

  it('Clear asks first, Cancel keeps the graph, and Ctrl+Z brings a cleared graph back', async () => {
    const shape = await graphShape(page);
    await page.click('#clear-button');
    const dialog = page.locator('dialog.fewstep-dialog');
    await dialog.waitFor();
    assert.match((await dialog.textContent()) ?? '', /Clear the graph\?.*removes all 5 nodes/);
    await dialog.locator('button', { hasText: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await count(page), 5);
    await page.click('#clear-button');
    await dialog.locator('button', { hasText: 'Clear' }).click();
    await until(
      () => count(page),
      (n) => n === 0,
      'the cleared graph',
    );
    await page.keyboard.press('Control+z');
    await until(
      () => count(page),
      (n) => n === 5,
      'the graph back',
    );
    assert.deepEqual(await graphShape(page), shape);
  });

  it('refuses a malformed dropped workflow with a clear message and keeps the graph', async () => {
    const shape = await graphShape(page);
    const cases: Array<[string, string, RegExp]> = [
      ['nodes-x.json', '{"nodes":"x"}', /nodes-x\.json was not loaded: "nodes" must be a list of nodes, not string "x"\. The graph is unchanged\./],
      ['no-type.json', '{"nodes":[{"id":1}],"links":[]}', /no-type\.json was not loaded: node 1: "type" must be a node type name/],
      ['bad-links.json', '{"nodes":[{"id":1,"type":"SaveImage"}],"links":"q"}', /bad-links\.json was not loaded: "links" must be a list/],
      ['broken.json', '{"nodes": [', /broken\.json was not loaded: it is not valid JSON \(.+\)\. The graph is unchanged\./],
    ];
    for (const [name, text, message] of cases) {
      await dropFile(page, name, 'application/json', Buffer.from(text));
      const toast = page.locator('.toast.error', { hasText: name });
      await toast.waitFor();
      assert.match((await toast.textContent()) ?? '', message);
      assert.deepEqual(await graphShape(page), shape, `${name} left the graph as it was`);
    }
    assert.equal(await page.locator('.toast.ok', { hasText: 'Loaded' }).count(), 0, 'nothing claims it loaded');
    // A good drop replaces the graph, and Ctrl+Z takes that back too.
    const one = {
      nodes: [{ id: 7, type: 'SaveImage', pos: [0, 0], size: [240, 80], widgets_values: ['dropped'], inputs: [{ name: 'images', type: 'IMAGE', link: null }] }],
      links: [],
      version: 0.4,
    };
    await dropFile(page, 'one.json', 'application/json', Buffer.from(JSON.stringify(one)));
    await until(
      () => count(page),
      (n) => n === 1,
      'the dropped workflow',
    );
    await page.keyboard.press('Control+z');
    await until(
      () => count(page),
      (n) => n === 5,
      'the graph before the drop',
    );
    assert.deepEqual(await graphShape(page), shape);
    // Undo restores the graph, not the view: "." fits the view to it again.
    await page.mouse.click(5, 400);
    await page.keyboard.press('.');
  });

  it('offers no "Convert to Subgraph" (the server runs flat graphs), and offers Bypass and Mute', async () => {
    const title = await titlePoint(page, 4);
    await page.mouse.click(title.x, title.y, { button: 'right' });
    await page.locator('.litecontextmenu').first().waitFor();
    const nodeMenu = await menuEntries(page);
    assert.ok(
      nodeMenu.some((e) => e.startsWith('Properties Panel')),
      nodeMenu.join(' | '),
    );
    assert.ok(nodeMenu.includes('Bypass (Ctrl+B)') && nodeMenu.includes('Mute (Ctrl+M)'), nodeMenu.join(' | '));
    assert.ok(!nodeMenu.some((e) => /subgraph/i.test(e)), nodeMenu.join(' | '));
    // The Bypass entry does what Ctrl+B does, undoably.
    await page.locator('.litemenu-entry', { hasText: 'Bypass (Ctrl+B)' }).click();
    assert.equal(await page.evaluate(() => (window as any).app.graph.getNodeById(4).mode), 4);
    await page.mouse.click(5, 400);
    await page.keyboard.press('Control+z');
    await until(
      () => page.evaluate(() => (window as any).app.graph.getNodeById(4).mode),
      (mode) => mode === 0,
      'the bypass undone',
    );
    await page.locator('.litecontextmenu').first().waitFor({ state: 'detached' });
    // Two nodes selected, then the canvas menu (where litegraph offers it for a selection).
    await page.evaluate(() => {
      const { app } = window as any;
      app.canvas.selectNodes([app.graph.getNodeById(1), app.graph.getNodeById(2)]);
    });
    const empty = await page.evaluate(() => {
      const rect = document.getElementById('graph-canvas')!.getBoundingClientRect();
      return { x: rect.left + 20, y: rect.top + 20 };
    });
    await page.mouse.click(empty.x, empty.y, { button: 'right' });
    await page.locator('.litecontextmenu').first().waitFor();
    const canvasMenu = await menuEntries(page);
    assert.ok(canvasMenu.includes('Add Node'), canvasMenu.join(' | '));
    assert.ok(!canvasMenu.some((e) => /subgraph/i.test(e)), canvasMenu.join(' | '));
    await page.mouse.click(5, 400);
  });

  it('shows the Properties panel, readable and on screen', async () => {
    const title = await titlePoint(page, 4);
    await page.mouse.click(title.x, title.y, { button: 'right' });
    await page.locator('.litemenu-entry', { hasText: 'Properties Panel' }).click();
    const panel = page.locator('#node-panel');
    await panel.waitFor({ state: 'visible' });
    const look = await panel.evaluate((el) => {
      const style = getComputedStyle(el);
      const box = el.getBoundingClientRect();
      return {
        position: style.position,
        background: style.backgroundColor,
        z: Number(style.zIndex),
        box: [box.left, box.top, box.width, box.height],
        text: el.textContent,
      };
    });
    assert.equal(look.position, 'absolute');
    assert.notEqual(look.background, 'rgba(0, 0, 0, 0)', 'the panel has a background');
    assert.ok(look.z > 0);
    const [left, top, width, height] = look.box;
    assert.ok(width > 200 && height > 150, JSON.stringify(look.box));
    assert.ok(left >= 0 && top >= 0 && left + width <= 1280 && top + height <= 800, JSON.stringify(look.box));
    assert.match(look.text ?? '', /Few-Step Sampler/);
    // The topmost element in the middle of the panel is the panel itself, not the canvas.
    const onTop = await page.evaluate(([x, y]) => document.elementFromPoint(x, y)?.closest('#node-panel') !== null, [left + width / 2, top + height / 2]);
    assert.equal(onTop, true);
    await page.screenshot({ path: path.join(ARTIFACTS, 'properties-panel.png') });
    await panel.locator('.close').click();
    await panel.waitFor({ state: 'detached' });
  });

  it('Save asks a name (Ctrl+S too) and downloads under it', async () => {
    await loadExample(page, 'four-step');
    await page.click('#save-button');
    const input = page.locator('dialog.fewstep-dialog input');
    assert.equal(await input.inputValue(), 'four-step', 'the name offered is the example loaded');
    const download = page.waitForEvent('download');
    await input.fill('my run');
    await page.keyboard.press('Enter');
    const file = await download;
    assert.equal(file.suggestedFilename(), 'my run.json');
    const saved = JSON.parse(readFileSync(await file.path(), 'utf8'));
    assert.equal(saved.nodes.length, 5);
    await page.mouse.click(5, 400);
    await page.keyboard.press('Control+s');
    await input.waitFor();
    assert.equal(await input.inputValue(), 'my run');
    await page.keyboard.press('Escape');
    await input.waitFor({ state: 'detached' });
  });

  it('clears stale state: error marks once fixed, the toolbar status once another example loads', async () => {
    // Break SaveImage twice: no images link and an empty prefix.
    await page.evaluate(() => {
      const save = (window as any).app.graph.getNodeById(5);
      save.disconnectInput(0);
      save.widgets.find((w: any) => w.name === 'filename_prefix').value = '';
    });
    const seen = session.problems.length;
    await page.click('#queue-button');
    const marked = await until(
      () => nodes(page),
      (n) => n.find((x) => x.id === 5)!.hasErrors,
      'errors on SaveImage',
    );
    assert.deepEqual(marked.find((x) => x.id === 5)!.inputErrors.sort(), ['filename_prefix', 'images']);
    // The expected 400 from POST /prompt is logged by the browser as a failed resource.
    assert.ok(session.problems.splice(seen).every((p) => /status of 400/.test(p)));
    // Fix the link with the mouse: its mark goes.
    const from = await socketPosition(page, 4, 'output', 0);
    const to = await socketPosition(page, 5, 'input', 0);
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move(to.x, to.y, { steps: 10 });
    await page.mouse.up();
    const linked = await until(
      () => nodes(page),
      (n) => !n.find((x) => x.id === 5)!.inputErrors.includes('images'),
      'the images mark gone',
    );
    assert.equal(linked.find((x) => x.id === 5)!.hasErrors, true, 'the prefix is still wrong');
    // Fix the prefix in its widget's prompt: the node is clean.
    const prefix = await widgetPoint(page, 5, 'filename_prefix');
    await page.mouse.click(prefix.x, prefix.y);
    const prompt = page.locator('.graphdialog input');
    await prompt.waitFor();
    await prompt.fill('fixed');
    await prompt.press('Enter');
    const fixed = await until(
      () => nodes(page),
      (n) => n.find((x) => x.id === 5)!.widgets.filename_prefix === 'fixed',
      'the new prefix',
    );
    assert.deepEqual(fixed.find((x) => x.id === 5)!.inputErrors, []);
    assert.equal(fixed.find((x) => x.id === 5)!.hasErrors, false);

    await page.click('#queue-button');
    await until(
      () => page.locator('#overall-text').textContent(),
      (t) => t === 'done',
      'the run to finish',
      60000,
    );
    await loadExample(page, 'learn-schedule');
    assert.equal(await page.locator('#overall-text').textContent(), 'idle');
    assert.equal(await page.locator('#overall-bar').evaluate((el) => (el as HTMLElement).style.width), '0px');
  });

  it('logged no console errors', () => {
    assert.deepEqual(session.problems, []);
  });
});
