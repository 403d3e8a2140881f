import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FileChooser, Page } from 'playwright-core';
import { EDITOR_DIST, ensureEditorBuilt } from '../../server/web-build.ts';
import { startTestServer, testPng, type TestServer } from '../server/helpers.ts';
import { addNode, ARTIFACTS, dropFile, launchChromium, nodes, socketPosition, until, watchConsole } from './browser.ts';

/** Graph shape independent of ids and positions: node types with widget values, and links by type. */
function shape(workflow: { nodes: Array<{ id: number; type: string; widgets_values?: unknown[] }>; links: unknown[][] }): unknown {
  const types = new Map(workflow.nodes.map((n) => [n.id, n.type]));
  return {
    nodes: workflow.nodes.map((n) => `${n.type}:${JSON.stringify(n.widgets_values ?? [])}`).sort(),
    links: workflow.links.map((l) => `${types.get(l[1] as number)}[${l[2]}]->${types.get(l[3] as number)}[${l[4]}]:${l[5]}`).sort(),
  };
}

describe('editor in headless Chromium', { timeout: 90000 }, () => {
  let t: TestServer;
  let chrome: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  let problems: string[];

  before(async () => {
    await ensureEditorBuilt();
    t = await startTestServer({ webDir: EDITOR_DIST });
    // LoadImage's default file name, so a freshly added node runs as it is.
    writeFileSync(path.join(t.folders.input, 'example.png'), testPng(32, 32));
    chrome = await launchChromium();
    page = await chrome.context.newPage();
    problems = watchConsole(page);
    await page.goto(t.base);
    await page.waitForFunction(() => (window as any).fewstep?.graph);
    await page.locator('#connection.online').waitFor();
  });

  after(async () => {
    await chrome?.close();
    await t?.close();
  });

  it('opens an empty dark editor with the node types from /object_info', async () => {
    assert.deepEqual(await nodes(page), []);
    const registered = await page.evaluate(() => Object.keys((window as any).fewstep.LiteGraph.registered_node_types));
    for (const type of ['LoadImage', 'PreviewImage', 'SaveImage', 'SlowSteps']) assert.ok(registered.includes(type), type);
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(background, 'rgb(30, 31, 34)');
    await page.screenshot({ path: path.join(ARTIFACTS, 'editor-empty.png') });
  });

  it('adds and connects nodes with the mouse, queues, and shows the saved image', async () => {
    await addNode(page, 300, 300, 'Load Image', 'LoadImage');
    await addNode(page, 800, 300, 'Save Image', 'SaveImage');
    const [load, save] = await until(
      () => nodes(page),
      (n) => n.length === 2,
      'two nodes',
    );
    assert.equal(load.type, 'LoadImage');
    assert.equal(save.type, 'SaveImage');
    assert.equal(load.widgets.image, 'example.png');
    assert.equal(save.widgets.filename_prefix, 'fewstep');

    const from = await socketPosition(page, load.id, 'output', 0);
    const to = await socketPosition(page, save.id, 'input', 0);
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move(to.x, to.y, { steps: 12 });
    await page.mouse.up();
    const links = await page.evaluate(() => (window as any).fewstep.graph.serialize().links);
    assert.equal(links.length, 1);
    assert.deepEqual(links[0].slice(1), [load.id, 0, save.id, 0, 'IMAGE']);

    await page.click('#queue-button');
    const shown = await until(
      () => nodes(page),
      (n) => n.find((x) => x.type === 'SaveImage')!.images.length === 1,
      'the image on SaveImage',
    );
    assert.equal(shown.find((x) => x.type === 'SaveImage')!.images[0], 'fewstep_00001_.png');
    await until(
      () => page.locator('#overall-text').textContent(),
      (text) => text === 'done',
      'the run to end',
    );
    await page.screenshot({ path: path.join(ARTIFACTS, 'editor-ran.png') });
  });

  it('refuses a link between different socket types', async () => {
    const before = await page.evaluate(() => (window as any).fewstep.graph.serialize().links.length);
    const [load] = await nodes(page);
    // Dragging from the IMAGE output onto LoadImage's own title bar area connects nothing new.
    const from = await socketPosition(page, load.id, 'output', 0);
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move(from.x - 150, from.y - 30, { steps: 8 });
    await page.mouse.up();
    await page.keyboard.press('Escape');
    const accepted = await page.evaluate(() => (window as any).fewstep.LiteGraph.isValidConnection('IMAGE', 'MODEL'));
    assert.equal(accepted, false);
    assert.equal(await page.evaluate(() => (window as any).fewstep.graph.serialize().links.length), before);
  });

  let savedWorkflow: Buffer;
  it('saves the workflow, clears, and gets the same graph back by dropping the file', async () => {
    const download = page.waitForEvent('download');
    await page.click('#save-button');
    await page.locator('dialog.fewstep-dialog input').fill('two-nodes');
    await page.locator('dialog.fewstep-dialog button.primary').click();
    const saving = await download;
    assert.equal(saving.suggestedFilename(), 'two-nodes.json');
    const file = await saving.path();
    savedWorkflow = readFileSync(file);
    const saved = JSON.parse(savedWorkflow.toString('utf8'));
    writeFileSync(path.join(ARTIFACTS, 'saved-workflow.json'), savedWorkflow);
    assert.equal(saved.nodes.length, 2);

    await page.click('#clear-button');
    await page.locator('dialog.fewstep-dialog button.primary').click();
    assert.equal((await nodes(page)).length, 0);
    await dropFile(page, 'workflow.json', 'application/json', savedWorkflow);
    await until(
      () => nodes(page),
      (n) => n.length === 2,
      'the dropped graph',
    );
    const again = await page.evaluate(() => (window as any).fewstep.graph.serialize());
    assert.deepEqual(shape(again), shape(saved));
  });

  it('loads the workflow carried by a PNG that fewstep saved', async () => {
    const png = Buffer.from(await (await fetch(`${t.base}/view?filename=fewstep_00001_.png&type=output`)).arrayBuffer());
    const expected = JSON.parse(savedWorkflow.toString('utf8'));
    await page.click('#clear-button');
    await page.locator('dialog.fewstep-dialog button.primary').click();
    await until(
      () => nodes(page),
      (n) => n.length === 0,
      'the cleared graph',
    );
    await dropFile(page, 'fewstep_00001_.png', 'image/png', png);
    await until(
      () => nodes(page),
      (n) => n.length === 2,
      'the graph from the PNG',
    );
    const loaded = await page.evaluate(() => (window as any).fewstep.graph.serialize());
    assert.deepEqual(shape(loaded), shape(expected));
  });

  it('restores the last workflow after a reload', async () => {
    const before = await page.evaluate(() => (window as any).fewstep.graph.serialize());
    await page.waitForTimeout(1200);
    await page.reload();
    await page.waitForFunction(() => (window as any).fewstep?.graph?._nodes.length === 2);
    const after = await page.evaluate(() => (window as any).fewstep.graph.serialize());
    assert.deepEqual(shape(after), shape(before));
  });

  it('uploads an image from the LoadImage node and selects it', async () => {
    const load = (await nodes(page)).find((n) => n.type === 'LoadImage')!;
    // The button's place is known only once the canvas has drawn the node; under load a draw can
    // lag, so draw first and try the click a few times before giving up.
    const locate = () =>
      page.evaluate(`(() => {
      const { graph, canvas, LiteGraph } = window.fewstep;
      canvas.draw(true, true);
      const node = graph.getNodeById(${load.id});
      const widget = node.widgets.find((w) => w.type === 'button');
      const [x, y] = canvas.ds.convertOffsetToCanvas([node.pos[0] + node.size[0] / 2, node.pos[1] + widget.y + LiteGraph.NODE_WIDGET_HEIGHT / 2]);
      const rect = canvas.canvas.getBoundingClientRect();
      return { x: rect.left + x, y: rect.top + y };
    })()`) as Promise<{ x: number; y: number }>;
    let chooser: FileChooser | undefined;
    for (let attempt = 0; attempt < 3 && !chooser; attempt++) {
      const button = await locate();
      const waiting = page.waitForEvent('filechooser', { timeout: 10_000 }).catch(() => undefined);
      await page.mouse.click(button.x, button.y);
      chooser = await waiting;
    }
    assert.ok(chooser, 'clicking the upload button opens a file chooser');
    await chooser.setFiles({ name: 'picked.png', mimeType: 'image/png', buffer: testPng(16, 16) });
    await until(
      () => nodes(page),
      (n) => n.find((x) => x.type === 'LoadImage')!.widgets.image === 'picked.png',
      'the uploaded name in the widget',
    );
    assert.ok(existsSync(path.join(t.folders.input, 'picked.png')));
  });

  it('puts validation errors on their nodes and inputs', async () => {
    await page.evaluate(() => {
      const { graph } = (window as any).fewstep;
      const save = graph._nodes.find((n: any) => n.type === 'SaveImage');
      save.disconnectInput(0);
      save.widgets.find((w: any) => w.name === 'filename_prefix').value = '';
    });
    const seen = problems.length;
    await page.click('#queue-button');
    const marked = await until(
      () => nodes(page),
      (n) => n.some((x) => x.hasErrors),
      'errors on the graph',
    );
    const save = marked.find((x) => x.type === 'SaveImage')!;
    assert.ok(save.inputErrors.includes('images'), JSON.stringify(save));
    await page.locator('.toast.error').first().waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'editor-validation.png') });
    // The browser logs the expected 400 from POST /prompt as a failed resource; nothing else may appear.
    const during = problems.splice(seen);
    assert.ok(
      during.every((p) => /status of 400/.test(p)),
      during.join('\n'),
    );
  });

  it('shows live previews on a stepping node and a progress bar per node', async () => {
    await page.evaluate(() => {
      (window as any).fewstep.graph.clear();
    });
    // Build LoadImage -> SlowSteps -> SaveImage through the page's own graph API (a string, so no transpiler helpers leak in).
    await page.evaluate(`(() => {
      const { graph, LiteGraph } = window.fewstep;
      const made = ['LoadImage', 'SlowSteps', 'SaveImage'].map((type, i) => {
        const node = LiteGraph.createNode(type);
        node.pos = [40 + i * 340, 120];
        graph.add(node);
        return node;
      });
      made[1].widgets.find((w) => w.name === 'steps').value = 30;
      made[1].widgets.find((w) => w.name === 'delay_ms').value = 40;
      made[0].connect(0, made[1], 0);
      made[1].connect(0, made[2], 0);
    })()`);
    await page.click('#queue-button');
    const running = await until(
      () => nodes(page),
      (n) => n.some((x) => x.type === 'SlowSteps' && x.preview && (x.progress ?? 0) > 0),
      'a preview while stepping',
    );
    assert.ok(running.find((x) => x.type === 'SlowSteps')!.progress! <= 1);
    const overall = await page.locator('#overall-bar').evaluate((el) => (el as HTMLElement).style.width);
    assert.match(overall, /^\d+%$/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'editor-preview.png') });
    await until(
      () => nodes(page),
      (n) => n.find((x) => x.type === 'SaveImage')!.images.length === 1,
      'the final image',
    );
    await page.screenshot({ path: path.join(ARTIFACTS, 'editor-preview-done.png') });
  });

  it('logged no console errors', () => {
    assert.deepEqual(problems, []);
  });
});
