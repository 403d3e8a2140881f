import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { addNodes, ARTIFACTS, dropFile, loadExample, nodes, openEditor, until, widgetPoint, type EditorSession } from './browser.ts';

const SAMPLER = 4;
const seed = async (page: Page) => (await nodes(page)).find((n) => n.id === SAMPLER)!.widgets.seed as number;
const savedImage = async (page: Page) => (await nodes(page)).find((n) => n.type === 'SaveImage')!.images[0];
const overall = (page: Page) => page.locator('#overall-text').textContent();

/** Picks a value in a combo widget the way a person does: click it, then the value in its menu. */
async function pick(page: Page, nodeId: number, widget: string, value: string): Promise<void> {
  const point = await widgetPoint(page, nodeId, widget, 0.5);
  await page.mouse.click(point.x, point.y);
  await page.locator('.litecontextmenu .litemenu-entry', { hasText: new RegExp(`^${value}$`) }).click();
  await until(
    () => nodes(page),
    (n) => n.find((x) => x.id === nodeId)!.widgets[widget] === value,
    `${widget} = ${value}`,
  );
}

/** Queues with the toolbar button and waits for that prompt to be in the history and the toolbar to say done. */
async function queueAndWait(page: Page): Promise<string> {
  const response = page.waitForResponse((r) => r.url().endsWith('/api/prompt') && r.request().method() === 'POST');
  await page.click('#queue-button');
  const { prompt_id: promptId } = await (await response).json();
  await until(
    () => page.evaluate(async (id) => Boolean((await (await fetch(`api/history/${id}`)).json())[id]), promptId),
    Boolean,
    `prompt ${promptId} in the history`,
    60000,
  );
  await until(
    () => overall(page),
    (t) => t === 'done',
    'the toolbar to say done',
    30000,
  );
  // And the page has drawn what the run output (its messages may trail the history by a moment).
  const outputs = await page.evaluate(async (id) => (await (await fetch(`api/history/${id}`)).json())[id].outputs, promptId);
  for (const [node, output] of Object.entries(outputs as Record<string, { images?: Array<{ filename: string }> }>)) {
    const first = output.images?.[0]?.filename;
    if (first)
      await until(
        () => nodes(page),
        (n) => n.find((x) => String(x.id) === node)?.images[0] === first,
        `node ${node} showing ${first}`,
      );
  }
  return promptId;
}

describe('seed control, the queue panel and the history', { timeout: 240000 }, () => {
  let session: EditorSession;
  let page: Page;
  const seedsRun = new Map<string, { seed: number; image: string }>();

  before(async () => {
    session = await openEditor();
    page = session.page;
    await loadExample(page, 'four-step');
  });

  after(async () => {
    await session?.close();
  });

  it('puts a control_after_generate combo after the seed and saves it right after the seed value', async () => {
    const sampler = await page.evaluate((id) => {
      const node = (window as any).app.graph.getNodeById(id);
      const control = node.widgets.find((w: any) => w.name === 'control_after_generate');
      return { names: node.widgets.map((w: any) => w.name), saved: node.serialize().widgets_values, values: control.options.values };
    }, SAMPLER);
    assert.deepEqual(sampler.names, ['seed', 'control_after_generate', 'batch_size', 'cfg', 'sampler', 'eta']);
    // The shipped workflows say randomize after the seed, as ComfyUI's examples do: a second Queue makes new images.
    assert.deepEqual(sampler.saved, [0, 'randomize', 4, 1.5, 'dpmpp_2m', 0]);
    assert.deepEqual(sampler.values, ['fixed', 'increment', 'decrement', 'randomize']);
  });

  it('loads workflows with and without the control value', async () => {
    const workflow = (values: unknown[]) => ({
      nodes: [{ id: 4, type: 'FewStepSampler', pos: [0, 0], size: [300, 200], widgets_values: values, inputs: [] }],
      links: [],
      version: 0.4,
    });
    await dropFile(page, 'old.json', 'application/json', Buffer.from(JSON.stringify(workflow([7, 2, 3.5, 'ddim', 0.25]))));
    const old = await until(
      () => nodes(page),
      (n) => n.length === 1,
      'the old workflow',
    );
    assert.deepEqual(old[0].widgets, { seed: 7, control_after_generate: 'randomize', batch_size: 2, cfg: 3.5, sampler: 'ddim', eta: 0.25 });
    await dropFile(page, 'new.json', 'application/json', Buffer.from(JSON.stringify(workflow([9, 'decrement', 3, 2.5, 'ddim', 0.5]))));
    const fresh = await until(
      () => nodes(page),
      (n) => n[0]?.widgets.seed === 9,
      'the new workflow',
    );
    assert.deepEqual(fresh[0].widgets, { seed: 9, control_after_generate: 'decrement', batch_size: 3, cfg: 2.5, sampler: 'ddim', eta: 0.5 });
    await loadExample(page, 'four-step');
  });

  it('applies the control after each Queue: increment, fixed (a cached run still shows its images), decrement, randomize', async () => {
    await pick(page, SAMPLER, 'control_after_generate', 'increment');
    const first = await queueAndWait(page);
    assert.equal(await seed(page), 1, 'incremented after the queue');
    seedsRun.set(first, { seed: 0, image: await savedImage(page) });
    const second = await queueAndWait(page);
    assert.equal(await seed(page), 2);
    seedsRun.set(second, { seed: 1, image: await savedImage(page) });
    // Two presses made two different images.
    assert.notEqual(seedsRun.get(first)!.image, seedsRun.get(second)!.image);
    const bytes = await page.evaluate(
      async (names) =>
        Promise.all(names.map(async (name) => [...new Uint8Array(await (await fetch(`api/view?filename=${name}&type=output`)).arrayBuffer())].join(','))),
      [seedsRun.get(first)!.image, seedsRun.get(second)!.image],
    );
    assert.notEqual(bytes[0], bytes[1]);

    await pick(page, SAMPLER, 'control_after_generate', 'fixed');
    await queueAndWait(page);
    assert.equal(await seed(page), 2, 'fixed keeps the seed');
    const shown = await savedImage(page);
    // The same seed again: everything is cached, and the nodes keep showing what they showed.
    await queueAndWait(page);
    assert.equal(await seed(page), 2);
    const after = (await nodes(page)).filter((n) => n.id === SAMPLER || n.type === 'SaveImage');
    assert.equal(after.find((n) => n.type === 'SaveImage')!.images[0], shown, 'Save Image still shows its image');
    assert.equal(after.find((n) => n.id === SAMPLER)!.preview, true, 'the sampler still shows its preview');
    await page.screenshot({ path: path.join(ARTIFACTS, 'seed-control-cached.png') });

    await pick(page, SAMPLER, 'control_after_generate', 'decrement');
    await queueAndWait(page);
    assert.equal(await seed(page), 1);

    await pick(page, SAMPLER, 'control_after_generate', 'randomize');
    await queueAndWait(page);
    const random = await seed(page);
    assert.ok(Number.isInteger(random) && random >= 0 && random <= 2 ** 32 - 1 && random !== 1, String(random));
    // The server got the seed as an input, and no control value as one.
    const sent = await page.evaluate(
      async (id) => Object.values((await (await fetch('api/history')).json()) as Record<string, any>).map((entry) => entry.prompt[2][id].inputs),
      String(SAMPLER),
    );
    assert.deepEqual(
      sent.map((inputs: Record<string, unknown>) => inputs.seed),
      [0, 1, 2, 2, 2, 1],
      JSON.stringify(await page.evaluate(async () => (await fetch('api/history')).json())).slice(0, 3000),
    );
    assert.ok(sent.every((inputs: Record<string, unknown>) => !('control_after_generate' in inputs)));
  });

  it('shows past outputs in the History panel, enlarges one, and loads the workflow that made it', async () => {
    await page.click('#history-panel-button');
    const thumbs = page.locator('#history-panel .thumb[data-filename]');
    const history = await page.evaluate(async () => Object.values((await (await fetch('api/history')).json()) as Record<string, any>));
    const images = history.flatMap((entry: any) => Object.values(entry.outputs).flatMap((output: any) => output.images ?? []));
    await until(
      () => thumbs.count(),
      (n) => n === images.length,
      'a thumbnail per output image',
    );
    // Newest first.
    assert.equal(await thumbs.first().getAttribute('data-prompt-id'), Object.keys(await page.evaluate(async () => (await fetch('api/history')).json())).at(-1));
    const [firstRun, { seed: firstSeed, image }] = [...seedsRun][0];
    await page.locator(`#history-panel .thumb[data-prompt-id="${firstRun}"]`).first().click();
    const lightbox = page.locator('#lightbox');
    await lightbox.waitFor({ state: 'visible' });
    await until(
      () => lightbox.locator('img').evaluate((img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth),
      (w) => Number(w) > 0,
      'the enlarged image',
    );
    assert.match((await lightbox.locator('img').getAttribute('src')) ?? '', new RegExp(`filename=${image}`));
    const box = await lightbox.locator('img').evaluate((img) => img.getBoundingClientRect().width);
    assert.ok(box >= 300, `enlarged: ${box}px wide`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'history-lightbox.png') });
    // The workflow that made it: its seed was the one that image was sampled with.
    await lightbox.locator('.lightbox-load').click();
    await lightbox.waitFor({ state: 'hidden' });
    await until(
      () => seed(page),
      (value) => value === firstSeed,
      'the seed of the first run',
    );
    assert.equal((await nodes(page)).find((n) => n.id === SAMPLER)!.widgets.control_after_generate, 'increment');
    await page.click('#history-panel-button');
  });

  it('lists running and pending prompts in the queue panel, cancels one, clears the rest', async () => {
    await page.evaluate(() => (window as any).app.loadGraphData({ nodes: [], links: [] }, 'test'));
    const [load, slow] = await addNodes(page, ['LoadImage', 'SlowSteps', 'SaveImage']);
    await page.evaluate(
      ({ load, slow }) => {
        const { graph } = (window as any).app;
        const slowNode = graph.getNodeById(slow);
        slowNode.widgets.find((w: any) => w.name === 'steps').value = 400;
        slowNode.widgets.find((w: any) => w.name === 'delay_ms').value = 50;
        graph.getNodeById(load).connect(0, slowNode, 0);
        slowNode.connect(0, graph.getNodeById(slow + 1), 0);
      },
      { load, slow },
    );
    await page.click('#queue-panel-button');
    const rows = page.locator('#queue-panel .queue-list li[data-prompt-id]');
    for (let i = 0; i < 4; i++) await page.click('#queue-button');
    await until(
      async () => [await rows.count(), await page.locator('#queue-panel li.running').count()],
      ([all, running]) => all === 4 && running === 1,
      'one running and three pending',
    );
    // Ctrl+Shift+Enter queues at the front: the new prompt is the next to run.
    const front = page.waitForResponse((r) => r.url().endsWith('/api/prompt'));
    await page.mouse.click(640, 700);
    await page.keyboard.press('Control+Shift+Enter');
    const { prompt_id: frontId } = await (await front).json();
    await until(
      () => rows.count(),
      (n) => n === 5,
      'the prompt queued at the front',
    );
    assert.equal(await page.locator('#queue-panel li.pending').first().getAttribute('data-prompt-id'), frontId);
    await page.screenshot({ path: path.join(ARTIFACTS, 'queue-panel.png') });
    const pending = await page.locator('#queue-panel li.pending').evaluateAll((items) => items.map((item) => (item as HTMLElement).dataset.promptId!));
    await page.locator(`#queue-panel li[data-prompt-id="${pending[1]}"] .cancel`).click();
    await until(
      () => rows.count(),
      (n) => n === 4,
      'the cancelled prompt gone',
    );
    const queue = await page.evaluate(async () => (await fetch('api/queue')).json());
    assert.deepEqual(queue.queue_pending.map((item: unknown[]) => item[1]).sort(), [pending[0], pending[2], pending[3]].sort());
    await page.locator('#queue-panel .queue-clear').click();
    await until(
      () => page.locator('#queue-panel li.pending').count(),
      (n) => n === 0,
      'no pending prompt',
    );
    assert.equal((await page.evaluate(async () => (await fetch('api/queue')).json())).queue_pending.length, 0);
    // One more behind the running one; Stop on the running row ends it and the next starts; Ctrl+Alt+Enter stops that.
    await page.click('#queue-button');
    await until(
      () => page.locator('#queue-panel li.pending').count(),
      (n) => n === 1,
      'one pending',
    );
    const running = await page.locator('#queue-panel li.running').getAttribute('data-prompt-id');
    await page.locator('#queue-panel li.running .cancel').click();
    await until(
      async () =>
        page
          .locator('#queue-panel li.running')
          .getAttribute('data-prompt-id')
          .catch(() => null),
      (id) => id !== null && id !== running,
      'the next prompt running',
      30000,
    );
    await page.mouse.click(640, 700);
    await page.keyboard.press('Control+Alt+Enter');
    await until(
      () => overall(page),
      (t) => t === 'stopped',
      'the running prompt stopped',
      30000,
    );
    await page.locator('#queue-panel li.empty', { hasText: 'Nothing queued' }).waitFor();
    await page.locator('#queue-panel .panel-close').click();
    assert.equal(await page.locator('#sidebar').isHidden(), true, 'the sidebar goes with its last panel');
  });

  it('logged no console errors', () => {
    assert.deepEqual(session.problems, []);
  });
});
