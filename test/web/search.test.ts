import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { addNodes, ARTIFACTS, loadExample, openEditor, socketPosition, titlePoint, until, widgetPoint, type EditorSession } from './browser.ts';

const results = (page: Page) => page.locator('.node-search li[data-type]').evaluateAll((items) => items.map((item) => (item as HTMLElement).dataset.type!));
const activeResult = (page: Page) => page.locator('.node-search li.active').getAttribute('data-type');
const box = (page: Page) =>
  page.locator('.node-search').evaluate((el) => {
    const rect = el.getBoundingClientRect();
    return { left: rect.left, top: rect.top, right: rect.right, bottom: rect.bottom, focused: document.activeElement === el.querySelector('input') };
  });

/** Opens the search box with a double-click on the canvas (again if the machine was too slow to see a double-click). */
async function openSearch(page: Page, x: number, y: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await page.mouse.dblclick(x, y);
    try {
      await page.locator('.node-search input').waitFor({ state: 'visible', timeout: 5000 });
      return;
    } catch (error) {
      if (attempt === 4) throw error;
    }
  }
}

describe('node search and tooltips', { timeout: 120000 }, () => {
  let session: EditorSession;
  let page: Page;
  let canvas: { left: number; top: number; right: number; bottom: number };

  before(async () => {
    session = await openEditor();
    page = session.page;
    await loadExample(page, 'four-step');
    canvas = await page.locator('#graph-canvas').evaluate((el) => {
      const rect = el.getBoundingClientRect();
      return { left: rect.left, top: rect.top, right: rect.right, bottom: rect.bottom };
    });
  });

  after(async () => {
    await session?.close();
  });

  it('after a link is released on empty canvas, Search opens by the pointer, lists what takes the link and connects the pick', async () => {
    const before = await page.evaluate(() => (window as any).app.graph._nodes.length);
    const from = await socketPosition(page, 1, 'output', 0);
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move(from.x + 60, from.y + 260, { steps: 10 });
    await page.mouse.up();
    await page.locator('.litecontextmenu .litemenu-entry', { hasText: 'Search' }).click();
    await page.locator('.node-search').waitFor();
    const shown = await box(page);
    assert.equal(shown.focused, true, 'the search field has the focus');
    assert.ok(Math.abs(shown.left - (from.x + 60)) < 200 && Math.abs(shown.top - (from.y + 260)) < 300, `the box is by the pointer: ${JSON.stringify(shown)}`);
    assert.ok(shown.left >= 0 && shown.top >= 0 && shown.right <= 1280 && shown.bottom <= 800, JSON.stringify(shown));
    // Only node types with a MODEL input are offered.
    assert.deepEqual((await results(page)).sort(), ['FewStepSampler', 'RewardScorer', 'SkipGate', 'StepScheduler']);
    await page.keyboard.type('sched');
    assert.equal(await activeResult(page), 'StepScheduler');
    await page.keyboard.press('Enter');
    await page.locator('.node-search').waitFor({ state: 'detached' });
    const added = await page.evaluate(() => {
      const { graph } = (window as any).app;
      const node = graph._nodes.at(-1);
      const link = graph.links.get ? graph.links.get(node.inputs[0].link) : graph.links[node.inputs[0].link];
      return { count: graph._nodes.length, type: node.type, from: link?.origin_id, fromSlot: link?.origin_slot };
    });
    assert.deepEqual(added, { count: before + 1, type: 'StepScheduler', from: 1, fromSlot: 0 });
    await page.keyboard.press('Control+z');
    await until(
      () => page.evaluate(() => (window as any).app.graph._nodes.length),
      (n) => n === before,
      'the added node undone',
    );
  });

  it('is fuzzy ("fsamp" finds the Few-Step Sampler) and searches and shows node descriptions', async () => {
    await openSearch(page, canvas.left + 120, canvas.top + 60);
    await page.keyboard.type('fsamp');
    assert.equal((await results(page))[0], 'FewStepSampler');
    const description = await page.locator('.node-search li[data-type="FewStepSampler"] .description').textContent();
    const expected = await page.evaluate(async () => (await (await fetch('api/object_info/FewStepSampler')).json()).FewStepSampler.description);
    assert.equal(description, expected);
    // Words from a description find its node.
    await page.locator('.node-search input').fill('PNG files');
    assert.equal((await results(page))[0], 'SaveImage');
    await page.screenshot({ path: path.join(ARTIFACTS, 'search.png') });
    await page.keyboard.press('Escape');
    await page.locator('.node-search').waitFor({ state: 'detached' });
  });

  it('moves with the arrow keys, adds with Enter, closes with Escape or a click elsewhere', async () => {
    await openSearch(page, canvas.left + 120, canvas.top + 60);
    await page.keyboard.type('image');
    const listed = await results(page);
    assert.ok(listed.length >= 3, listed.join(','));
    assert.equal(await activeResult(page), listed[0]);
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    assert.equal(await activeResult(page), listed[2]);
    await page.keyboard.press('ArrowUp');
    assert.equal(await activeResult(page), listed[1]);
    const count = await page.evaluate(() => (window as any).app.graph._nodes.length);
    await page.keyboard.press('Enter');
    await page.locator('.node-search').waitFor({ state: 'detached' });
    assert.equal(await page.evaluate(() => (window as any).app.graph._nodes.at(-1).type), listed[1]);
    assert.equal(await page.evaluate(() => (window as any).app.graph._nodes.length), count + 1);

    // Elsewhere: the node just added sits where the box was opened.
    await openSearch(page, canvas.left + 300, canvas.bottom - 100);
    await page.keyboard.press('Escape');
    await page.locator('.node-search').waitFor({ state: 'detached' });
    await openSearch(page, canvas.left + 300, canvas.bottom - 100);
    await page.mouse.click(canvas.left + 600, canvas.bottom - 60);
    await page.locator('.node-search').waitFor({ state: 'detached' });
  });

  it('stays on screen when opened at the window edge', async () => {
    await openSearch(page, canvas.right - 6, canvas.bottom - 6);
    const shown = await box(page);
    assert.ok(shown.left >= 0 && shown.top >= 0 && shown.right <= 1280 && shown.bottom <= 800, JSON.stringify(shown));
    assert.ok(shown.right - shown.left > 300);
    await page.keyboard.press('Escape');
  });

  it('shows tooltips from the node, widget and input descriptions in /object_info', async () => {
    const info = await page.evaluate(async () => (await (await fetch('api/object_info')).json()) as Record<string, any>);
    const hover = async (point: { x: number; y: number }) => {
      await page.mouse.move(point.x - 30, point.y - 30);
      await page.mouse.move(point.x, point.y, { steps: 3 });
      const tip = page.locator('#tooltip:not([hidden])');
      await tip.waitFor({ timeout: 5000 });
      const text = await tip.textContent();
      const rect = await tip.evaluate((el) => el.getBoundingClientRect().toJSON());
      assert.ok(rect.left >= 0 && rect.top >= 0 && rect.right <= 1280 && rect.bottom <= 800, JSON.stringify(rect));
      return text;
    };
    assert.equal(await hover(await titlePoint(page, 4)), info.FewStepSampler.description);
    assert.equal(await hover(await widgetPoint(page, 4, 'seed', 0.3)), info.FewStepSampler.input.required.seed[1].tooltip);
    assert.equal(await hover(await widgetPoint(page, 4, 'cfg', 0.3)), info.FewStepSampler.input.required.cfg[1].tooltip);
    // An input's tooltip, on its socket's row (RewardScorer's conditioning has one).
    const [scorer] = await addNodes(page, ['RewardScorer']);
    await page.evaluate((id) => {
      const { app } = window as any;
      app.graph.getNodeById(id).pos = [40, 500];
      app.canvas.setDirty(true, true);
    }, scorer);
    await page.keyboard.press('.');
    const conditioning = await socketPosition(page, scorer, 'input', 1);
    assert.equal(await hover({ x: conditioning.x + 30, y: conditioning.y }), info.RewardScorer.input.optional.conditioning[1].tooltip);
    // Moving away hides it.
    await page.mouse.move(canvas.left + 5, canvas.bottom - 40);
    await page.locator('#tooltip').waitFor({ state: 'hidden' });
  });

  it('logged no console errors', () => {
    assert.deepEqual(session.problems, []);
  });
});
