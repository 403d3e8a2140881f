import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { ARTIFACTS, loadExample, openEditor, until, type EditorSession } from './browser.ts';

/** A run of a few seconds: the server's defaults take minutes. */
const SHORT = { iterations: 3, group: 2, batch: 8, heldOut: 16, evaluateEvery: 1, patience: 0 };

const box = (page: Page, selector: string) =>
  page.locator(selector).evaluate((el) => el.getBoundingClientRect().toJSON() as { left: number; right: number; top: number; bottom: number; width: number });
const learned = (page: Page) =>
  page.evaluate(
    () => (window as any).app.graph._nodes.find((n: any) => n.type === 'StepScheduler').widgets.find((w: any) => w.name === 'learned').value as string,
  );
const runs = (page: Page) => page.evaluate(async () => (await (await fetch('api/train')).json()).runs as Array<{ train_id: string; status: string }>);

async function train(page: Page): Promise<void> {
  await page.evaluate((short) => ((window as any).app.training.overrides = short), SHORT);
  await page.fill('#train-minutes', '2');
  await page.click('#train-button');
  await page.locator('#train-button.busy').waitFor();
}

describe('training in the editor: the chart, its notice, the panel, the plot', { timeout: 240000 }, () => {
  let session: EditorSession;
  let page: Page;

  before(async () => {
    session = await openEditor();
    page = session.page;
    await loadExample(page, 'learn-schedule');
  });

  after(async () => {
    await session?.close();
  });

  it('draws reward and held-out FD with axes and numbers, and says when training ends', async () => {
    const wide = await box(page, '#graph-canvas');
    await train(page);
    const panel = page.locator('#training-panel');
    await panel.waitFor({ state: 'visible' });
    const notice = page.locator('#training-notice');
    await notice.waitFor({ state: 'visible', timeout: 120000 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'training-panel.png') });
    assert.match(
      (await notice.textContent()) ?? '',
      /^Training done: held-out FD \d+\.\d{3} -> \d+\.\d{3}\. The learned values are in the graph: Queue samples with them, Save keeps them\. Saved output\/train\/.+\.json\.$/,
    );
    assert.match((await page.textContent('#training-label')) ?? '', /^training done · reward -?\d+\.\d{4} · held-out FD \d+\.\d{3}$/);
    const chart = await page.evaluate(() => {
      const { chart } = (window as any).app.training;
      chart.draw();
      return { reward: chart.reward.points, heldOut: chart.heldOut.points, labels: chart.labels as string[], iterations: chart.iterations };
    });
    assert.equal(chart.iterations, SHORT.iterations);
    assert.ok(chart.reward.length >= 2, JSON.stringify(chart.reward));
    assert.ok(chart.heldOut.length >= 2, JSON.stringify(chart.heldOut));
    assert.ok(chart.labels.includes('iteration'));
    assert.ok(chart.labels.includes('mean reward (higher is better)') && chart.labels.includes('held-out FD (lower is better)'), chart.labels.join(' | '));
    // Tick numbers on both y axes span the figures plotted.
    const numbers = chart.labels.map(Number).filter((n) => Number.isFinite(n));
    const fds = chart.heldOut.map((p: { value: number }) => p.value);
    assert.ok(
      numbers.some((n) => n <= Math.max(...fds) && n >= Math.min(...fds) - 1),
      `an FD tick near ${fds}: ${numbers}`,
    );
    for (let i = 0; i <= SHORT.iterations; i++) assert.ok(chart.labels.includes(String(i)) || i % 2 === 1, `x tick ${i}`);
    // The chart's canvas is drawn on: some pixels are the reward green and the FD orange.
    const colours = await page.locator('#training-chart').evaluate((el) => {
      const data = (el as HTMLCanvasElement).getContext('2d')!.getImageData(0, 0, (el as HTMLCanvasElement).width, (el as HTMLCanvasElement).height).data;
      let green = 0;
      let orange = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i] === 0x3f && data[i + 1] === 0xb9 && data[i + 2] === 0x50) green++;
        if (data[i] === 0xf0 && data[i + 1] === 0x88 && data[i + 2] === 0x3e) orange++;
      }
      return { green, orange };
    });
    assert.ok(colours.green > 20 && colours.orange > 20, JSON.stringify(colours));
    // Beside the canvas, never over it: the canvas narrowed, and a double-click where a floating panel used to sit reaches the canvas.
    const narrow = await box(page, '#graph-canvas');
    const side = await box(page, '#training-panel');
    assert.ok(narrow.right <= side.left, JSON.stringify({ narrow, side }));
    assert.ok(narrow.width < wide.width);
    await page.mouse.dblclick(narrow.right - 60, narrow.top + 40);
    await page.locator('.node-search').waitFor();
    await page.keyboard.press('Escape');
  });

  it('links the reward plot PNG, with axes, tick numbers and titles', async () => {
    const href = await page.locator('#training-plot').getAttribute('href');
    assert.ok(href);
    const bytes = Buffer.from(await page.evaluate(async (url) => [...new Uint8Array(await (await fetch(url)).arrayBuffer())], href!));
    const png = PNG.sync.read(bytes);
    const ink = (x0: number, y0: number, x1: number, y1: number) => {
      let n = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (png.data[(y * png.width + x) * 4] < 200) n++;
      return n;
    };
    assert.equal(png.width, 640);
    // Tick numbers left of both y axes, titles over both panels, the x label at the bottom.
    assert.ok(ink(0, 30, 76, 200) > 40 && ink(0, 250, 76, 420) > 40, 'y tick numbers');
    assert.ok(ink(84, 4, 400, 22) > 20 && ink(84, 224, 400, 242) > 20, 'panel titles');
    assert.ok(ink(84, png.height - 20, 600, png.height) > 20, 'the x label');
  });

  it('closes with its button; Clear and a change of example take the panel away', async () => {
    const panel = page.locator('#training-panel');
    await panel.locator('.panel-close').click();
    assert.equal(await panel.isHidden(), true);
    assert.equal(await page.locator('#sidebar').isHidden(), true);
    // Open again by training; Clear takes it away (and Ctrl+Z brings the graph, not the panel, back).
    await train(page);
    await panel.waitFor({ state: 'visible' });
    await page.click('#clear-button');
    await page.locator('dialog.fewstep-dialog button.primary').click();
    await panel.waitFor({ state: 'hidden' });
    // The run goes on for the cleared graph until stopped.
    assert.equal(await page.textContent('#train-button'), 'Stop training');
    await page.click('#train-button');
    // Stopped: the button is no longer busy (and hidden, as the empty graph has nothing to train).
    await page.locator('#train-button:not(.busy)').waitFor({ state: 'attached', timeout: 60000 });
    await page.mouse.click(5, 400);
    await page.keyboard.press('Control+z');
    await until(
      () => page.evaluate(() => (window as any).app.graph._nodes.length),
      (n) => n > 0,
      'the graph back',
    );
    assert.equal(await panel.isHidden(), true);
    // A run still going when another example loads: the panel goes, and its result is not written into the new graph.
    await train(page);
    await until(
      () => page.evaluate(() => (window as any).app.training.chart.reward.points.length),
      (n) => n > 0,
      'a first iteration',
      60000,
    );
    await loadExample(page, 'four-step-learned');
    await panel.waitFor({ state: 'hidden' });
    const before = await learned(page);
    await page.click('#train-button');
    await until(
      () => runs(page),
      (list) => list.every((run) => run.status !== 'running'),
      'the run to end',
      60000,
    );
    await page.locator('#train-button:not(.busy)').waitFor();
    assert.equal(await learned(page), before, 'the loaded example keeps its own learned schedule');
    assert.equal(await panel.isHidden(), true);
  });

  it('logged no console errors', () => {
    assert.deepEqual(session.problems, []);
  });
});
