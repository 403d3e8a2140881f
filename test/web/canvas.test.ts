import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { addNodes, ARTIFACTS, loadExample, nodes, openEditor, titlePoint, until, widgetPoint, type EditorSession } from './browser.ts';

/** The colour the canvas shows at a graph point (after a full redraw). */
function colourAt(page: Page, x: number, y: number): Promise<[number, number, number]> {
  return page.evaluate(
    ({ x, y }) => {
      const { canvas } = (window as any).app;
      canvas.draw(true, true);
      const [cx, cy] = canvas.ds.convertOffsetToCanvas([x, y]);
      const [r, g, b] = canvas.canvas.getContext('2d').getImageData(Math.round(cx), Math.round(cy), 1, 1).data;
      return [r, g, b] as [number, number, number];
    },
    { x, y },
  );
}

/** A point inside a node's body below its widgets, where only its background is drawn. */
const bodyPoint = (page: Page, id: number) =>
  page.evaluate((id) => {
    const node = (window as any).app.graph.getNodeById(id);
    return { x: node.pos[0] + node.size[0] - 8, y: node.pos[1] + node.size[1] - 6 };
  }, id);

/** Which nodes lie wholly inside the visible canvas. */
const allInView = (page: Page) =>
  page.evaluate(() => {
    const { graph, canvas, LiteGraph } = (window as any).app;
    const el = canvas.canvas;
    return graph._nodes.every((node: any) => {
      const [x0, y0] = canvas.ds.convertOffsetToCanvas([node.pos[0], node.pos[1] - LiteGraph.NODE_TITLE_HEIGHT]);
      const [x1, y1] = canvas.ds.convertOffsetToCanvas([node.pos[0] + node.size[0], node.pos[1] + node.size[1]]);
      return x0 >= 0 && y0 >= 0 && x1 <= el.clientWidth && y1 <= el.clientHeight;
    });
  });

const view = (page: Page) =>
  page.evaluate(() => {
    const { ds } = (window as any).app.canvas;
    return { scale: ds.scale, offset: [ds.offset[0], ds.offset[1]] };
  });

describe('the canvas: modes, view, minimap, text on nodes, widgets', { timeout: 180000 }, () => {
  let session: EditorSession;
  let page: Page;

  before(async () => {
    session = await openEditor();
    page = session.page;
  });

  after(async () => {
    await session?.close();
  });

  it('keeps the first-load fit after a reload', async () => {
    // No last session: the editor saves the graph as the page unloads, so the entry is removed after that.
    await page.evaluate(() => window.addEventListener('beforeunload', () => localStorage.removeItem('fewstep.workflow')));
    await page.reload();
    await page.waitForFunction(() => (window as any).app?.graph._nodes.length === 5);
    assert.equal(await allInView(page), true, 'the first load fits every node in view');
    const first = await view(page);
    await page.waitForTimeout(1300);
    await page.reload();
    await page.waitForFunction(() => (window as any).app?.graph._nodes.length === 5);
    await page.locator('#connection.online').waitFor();
    const again = await view(page);
    assert.ok(Math.abs(again.scale - first.scale) < 1e-6, JSON.stringify({ first, again }));
    assert.ok(Math.abs(again.offset[0] - first.offset[0]) < 1e-3 && Math.abs(again.offset[1] - first.offset[1]) < 1e-3, JSON.stringify({ first, again }));
    assert.equal(await allInView(page), true);
  });

  it('fits the view with "." (all nodes, or the selected ones) and with the toolbar button', async () => {
    await page.evaluate(() => {
      const { canvas } = (window as any).app;
      canvas.ds.offset[0] = 9000;
      canvas.ds.offset[1] = -7000;
      canvas.ds.scale = 2;
      canvas.setDirty(true, true);
    });
    assert.equal(await allInView(page), false);
    await page.mouse.click(640, 780);
    await page.keyboard.press('.');
    assert.equal(await allInView(page), true);
    // One node selected: "." centres it. (Selected through the canvas API: what is tested is ".",
    // and a click on a title that a redraw has not yet placed can miss on a loaded machine.)
    await page.evaluate(() => {
      const { graph, canvas } = (window as any).app;
      canvas.deselectAll();
      canvas.selectNode(graph.getNodeById(4));
    });
    await page.keyboard.press('.');
    const centred = await page.evaluate(() => {
      const { graph, canvas } = (window as any).app;
      const node = graph.getNodeById(4);
      const [x, y] = canvas.ds.convertOffsetToCanvas([node.pos[0] + node.size[0] / 2, node.pos[1] + node.size[1] / 2]);
      return { dx: Math.abs(x - canvas.canvas.clientWidth / 2), dy: Math.abs(y - canvas.canvas.clientHeight / 2) };
    });
    assert.ok(centred.dx < 40 && centred.dy < 40, JSON.stringify(centred));
    await page.evaluate(() => (window as any).app.canvas.deselectAll());
    await page.evaluate(() => ((window as any).app.canvas.ds.offset[0] = 9000));
    await page.click('#fit-button');
    assert.equal(await allInView(page), true);
  });

  it('has a minimap: every node on it, and a click there moves the view to that place', async () => {
    const map = page.locator('#minimap');
    assert.equal(await map.isVisible(), true);
    await page.evaluate(() => (window as any).app.minimap.draw());
    const target = await page.evaluate(() => {
      const { app } = window as any;
      const node = app.graph.getNodeById(5);
      const { originX, originY, scale } = app.minimap.transform;
      const rect = app.minimap.element.getBoundingClientRect();
      const centre = [node.pos[0] + node.size[0] / 2, node.pos[1] + node.size[1] / 2];
      return { x: rect.left + 6 + (centre[0] - originX) * scale, y: rect.top + 6 + (centre[1] - originY) * scale, centre, scale };
    });
    // The map shows the node there: its pixel is a node's colour, not the map's background.
    const pixel = await map.evaluate((el, { x, y }) => {
      const rect = el.getBoundingClientRect();
      return [...(el as HTMLCanvasElement).getContext('2d')!.getImageData(Math.round(x - rect.left), Math.round(y - rect.top), 1, 1).data];
    }, target);
    assert.deepEqual(pixel.slice(0, 3), [0x5f, 0x66, 0x70]);
    await page.mouse.click(target.x, target.y);
    const middle = await page.evaluate(() => {
      const { canvas } = (window as any).app;
      return canvas.ds.convertCanvasToOffset([canvas.canvas.clientWidth / 2, canvas.canvas.clientHeight / 2]);
    });
    // Within a minimap pixel of the node's centre.
    assert.ok(
      Math.abs(middle[0] - target.centre[0]) <= 1.5 / target.scale && Math.abs(middle[1] - target.centre[1]) <= 1.5 / target.scale,
      JSON.stringify({ middle, target }),
    );
    await page.click('#minimap-button');
    assert.equal(await map.isVisible(), false);
    await page.click('#minimap-button');
    assert.equal(await map.isVisible(), true);
    await page.keyboard.press('.');
  });

  it("bypasses (Ctrl+B) and mutes (Ctrl+M) with ComfyUI's colours, undoably, and the server honours both", async () => {
    const point = await bodyPoint(page, 3);
    const normal = await colourAt(page, point.x, point.y);
    // Selected through the canvas API: a click on a title that a redraw has not yet placed can miss on a loaded machine.
    await page.evaluate((id) => {
      const { graph, canvas } = (window as any).app;
      canvas.deselectAll();
      canvas.selectNode(graph.getNodeById(id));
    }, 3);
    await page.keyboard.press('Control+b');
    assert.equal(await page.evaluate(() => (window as any).app.graph.getNodeById(3).mode), 4);
    const bypassed = await colourAt(page, point.x, point.y);
    // Magenta (#FF00FF at ComfyUI's 0.2 alpha): red and blue well above green.
    assert.ok(bypassed[0] - bypassed[1] > 25 && bypassed[2] - bypassed[1] > 25, JSON.stringify({ normal, bypassed }));
    assert.ok(Math.abs(normal[0] - normal[1]) < 8 && Math.abs(normal[2] - normal[1]) < 8, JSON.stringify(normal));
    await page.screenshot({ path: path.join(ARTIFACTS, 'bypass.png') });
    await page.keyboard.press('Control+b');
    assert.equal(await page.evaluate(() => (window as any).app.graph.getNodeById(3).mode), 0);
    await page.keyboard.press('Control+m');
    assert.equal(await page.evaluate(() => (window as any).app.graph.getNodeById(3).mode), 2);
    const muted = await colourAt(page, point.x, point.y);
    // Faint (ComfyUI's 0.4 alpha): darker than the normal body, still grey.
    assert.ok(muted[0] < normal[0] - 5 && Math.abs(muted[0] - muted[1]) < 8, JSON.stringify({ normal, muted }));
    await page.keyboard.press('Control+z');
    await until(
      () => page.evaluate(() => (window as any).app.graph.getNodeById(3).mode),
      (mode) => mode === 0,
      'the mute undone',
    );

    // The server's conversion: a bypassed node passes its input through, a muted one is left out.
    await page.evaluate(() => (window as any).app.loadGraphData({ nodes: [], links: [] }, 'test'));
    const [load, slow, save, preview] = await addNodes(page, ['LoadImage', 'SlowSteps', 'SaveImage', 'PreviewImage'], 300);
    await page.evaluate(
      ({ load, slow, save, preview }) => {
        const { graph } = (window as any).app;
        graph.getNodeById(load).connect(0, graph.getNodeById(slow), 0);
        graph.getNodeById(slow).connect(0, graph.getNodeById(save), 0);
        graph.getNodeById(slow).connect(0, graph.getNodeById(preview), 0);
        graph.getNodeById(preview).pos = [940, 400];
      },
      { load, slow, save, preview },
    );
    await page.keyboard.press('.');
    for (const [id, key] of [
      [slow, 'Control+b'],
      [preview, 'Control+m'],
    ] as const) {
      await page.evaluate((id) => {
        const { graph, canvas } = (window as any).app;
        canvas.deselectAll();
        canvas.selectNode(graph.getNodeById(id));
      }, id);
      await page.keyboard.press(key);
    }
    const response = page.waitForResponse((r) => r.url().endsWith('/api/prompt'));
    await page.click('#queue-button');
    const { prompt_id: promptId } = await (await response).json();
    const entry: any = await until(
      () => page.evaluate(async (id) => (await (await fetch(`api/history/${id}`)).json())[id], promptId),
      Boolean,
      'the run in the history',
      30000,
    );
    const prompt = entry.prompt[2] as Record<string, { class_type: string; inputs: Record<string, unknown> }>;
    assert.deepEqual(
      Object.values(prompt)
        .map((n) => n.class_type)
        .sort(),
      ['LoadImage', 'SaveImage'],
    );
    assert.deepEqual(prompt[String(save)].inputs.images, [String(load), 0], 'SaveImage reads LoadImage through the bypassed node');
    assert.equal(entry.status.status_str, 'success');
  });

  it('wraps the text a node reports inside the node (SkipGate, RewardScorer, the sampler), also when narrowed', async () => {
    await loadExample(page, 'four-step-learned-skip');
    // A small batch keeps the run short; FD needs at least two images.
    await page.evaluate(() => {
      const sampler = (window as any).app.graph._nodes.find((n: any) => n.type === 'FewStepSampler');
      sampler.widgets.find((w: any) => w.name === 'batch_size').value = 4;
    });
    await page.click('#queue-button');
    await until(
      () => page.locator('#overall-text').textContent(),
      (t) => t === 'done',
      'the run',
      90000,
    );
    type Layout = { type: string; width: number; height: number; text: string; lines: string[]; widest: number; bottom: number };
    const layouts = (): Promise<Layout[]> =>
      page.evaluate(() => {
        const { app } = window as any;
        app.canvas.draw(true, true);
        return app.graph._nodes
          .filter((n: any) => n.fewstep?.textLayout)
          .map((n: any) => ({ type: n.type, width: n.size[0], height: n.size[1], text: n.fewstep.text.join(' '), ...n.fewstep.textLayout }));
      });
    const shown = await layouts();
    for (const type of ['SkipGate', 'RewardScorer', 'FewStepSampler'])
      assert.ok(
        shown.some((l) => l.type === type),
        `${type} reported text: ${JSON.stringify(shown.map((l) => l.type))}`,
      );
    const inside = (list: typeof shown) => {
      for (const l of list) {
        assert.ok(l.widest <= l.width - 20, `${l.type}: a line ${l.widest}px wide in a ${l.width}px node`);
        assert.ok(l.bottom <= l.height, `${l.type}: text ends at ${l.bottom} in a ${l.height}px node`);
        assert.equal(l.lines.join(' ').replace(/\s+/g, ''), l.text.replace(/\s+/g, ''), `${l.type}: every word is shown`);
      }
    };
    inside(shown);
    assert.ok(shown.find((l) => l.type === 'SkipGate')!.lines.length > 1, 'the long SkipGate report is wrapped');
    // This RewardScorer weighs only FD, a batch figure: it is labelled as one, not listed per image.
    const scorer = await page.evaluate(() => (window as any).app.graph._nodes.find((n: any) => n.type === 'RewardScorer').fewstep.text as string[]);
    assert.match(scorer[1], /^batch reward -\d+\.\d{3}, the same for all 4 images \(FD scores the batch, not each image\)$/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'node-text.png') });
    // Narrowed nodes wrap into more lines and grow taller to keep them.
    await page.evaluate(() => (window as any).app.graph._nodes.forEach((n: any) => n.setSize([200, n.size[1]])));
    await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 50)));
    const narrow = await layouts();
    await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 50)));
    inside(await layouts());
    assert.ok(narrow.find((l) => l.type === 'SkipGate')!.lines.length > shown.find((l) => l.type === 'SkipGate')!.lines.length);
  });

  it("keeps a widget's label in view when its value is long", async () => {
    await loadExample(page, 'four-step');
    const long = `garments/${'very-long-prefix-'.repeat(12)}end`;
    const drawn = await page.evaluate((long) => {
      const { app } = window as any;
      const save = app.graph.getNodeById(5);
      save.widgets.find((w: any) => w.name === 'filename_prefix').value = long;
      const texts: string[] = [];
      const original = CanvasRenderingContext2D.prototype.fillText;
      CanvasRenderingContext2D.prototype.fillText = function (text: string, x: number, y: number, maxWidth?: number) {
        texts.push(String(text));
        return original.call(this, text, x, y, maxWidth);
      };
      try {
        app.canvas.draw(true, true);
      } finally {
        CanvasRenderingContext2D.prototype.fillText = original;
      }
      return texts;
    }, long);
    assert.ok(drawn.includes('filename_prefix'), `the label is drawn whole: ${drawn.filter((t) => /file|garm/.test(t)).join(' | ')}`);
    // The value is cut short instead: its start, then an ellipsis.
    const at = drawn.findIndex((t) => t.startsWith('garments/'));
    assert.ok(at >= 0 && drawn[at].length < long.length / 2, drawn[at]);
    assert.equal(drawn[at + 1], '…');
  });

  it("edits the learned schedule's JSON in a multi-line editor that checks it", async () => {
    await loadExample(page, 'four-step-learned');
    const scheduler = (await nodes(page)).find((n) => n.type === 'StepScheduler')!;
    const before = scheduler.widgets.learned as string;
    assert.ok(before.startsWith('{'), 'the example carries a learned schedule');
    const open = async () => {
      const point = await widgetPoint(page, scheduler.id, 'learned', 0.5);
      await page.mouse.click(point.x, point.y);
      await page.locator('dialog.fewstep-dialog.wide textarea').waitFor();
    };
    await open();
    const area = page.locator('dialog.fewstep-dialog textarea');
    const shown = await area.inputValue();
    assert.equal(shown, JSON.stringify(JSON.parse(before), null, 2), 'shown indented, one field a line');
    assert.ok(shown.split('\n').length > 5);
    await page.screenshot({ path: path.join(ARTIFACTS, 'learned-editor.png') });
    // Broken JSON is refused with the parser's message; the dialog stays.
    await area.fill(`${shown.slice(0, -1)},`);
    await page.locator('dialog.fewstep-dialog button.primary').click();
    assert.match((await page.locator('dialog.fewstep-dialog .dialog-error').textContent()) ?? '', /^Not valid JSON: /);
    // A change that parses is kept compact, as the trainer writes it; Ctrl+Enter applies.
    const edited = JSON.parse(before);
    edited.note = 'edited by hand';
    await area.fill(JSON.stringify(edited, null, 2));
    await area.press('Control+Enter');
    await page.locator('dialog.fewstep-dialog').waitFor({ state: 'detached' });
    const after = (await nodes(page)).find((n) => n.id === scheduler.id)!.widgets.learned;
    assert.equal(after, JSON.stringify(edited));
    // Escape leaves the value alone; Ctrl+Z takes the edit back.
    await open();
    await page.keyboard.press('Escape');
    await page.locator('dialog.fewstep-dialog').waitFor({ state: 'detached' });
    assert.equal((await nodes(page)).find((n) => n.id === scheduler.id)!.widgets.learned, JSON.stringify(edited));
    await page.mouse.click(640, 785);
    await page.keyboard.press('Control+z');
    await until(
      () => nodes(page),
      (n) => n.find((x) => x.id === scheduler.id)!.widgets.learned === before,
      'the edit undone',
    );
  });

  it('logged no console errors', () => {
    assert.deepEqual(session.problems, []);
  });
});
