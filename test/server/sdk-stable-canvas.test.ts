import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, Workflow, WorkflowInterruptedError } from '@stable-canvas/comfyui-client';
import WebSocket from 'ws';
import { decodePng } from '../../engine/index.ts';
import { haveModel, savedImages, startSdkServer, type SdkServer } from './sdk-fixture.ts';

type Output = { images: Array<{ type: string; data: unknown; mime?: string }>; prompt_id: string };

const viewUrl = (base: string, image: { filename: string; subfolder: string; type: string }) =>
  `${base}/view?filename=${image.filename}&subfolder=${image.subfolder}&type=${image.type}`;

/** The images a result names by URL (SaveImage's); `buff` entries are frames that came over the websocket. */
const urls = (output: Output) => output.images.filter((image) => image.type === 'url').map((image) => image.data as string);

describe('@stable-canvas/comfyui-client 1.5.9 against a real fewstep server', { timeout: 300_000, skip: haveModel ? false : 'no model under models/' }, () => {
  let s: SdkServer;
  let client: Client;
  before(async () => {
    s = await startSdkServer();
    // In Node the client needs a WebSocket implementation: `ws`, as its README says.
    client = new Client({ api_host: s.host, WebSocket: WebSocket as never, clientId: 'stable-canvas-test' });
    await client.connect();
  });
  after(async () => {
    client.close();
    await s.close();
  });

  it('cold and warm: enqueue() resolves with the SaveImage images, with progress reported', async () => {
    for (const [label, seed] of [
      ['cold', 1],
      ['warm', 2],
    ] as const) {
      const progress: Array<[number, number]> = [];
      const output = (await client.enqueue(s.fourStep({ seed }), {
        progress: (p: { value: number; max: number }) => progress.push([p.value, p.max]),
      })) as Output;
      const saved = await savedImages(s.base, output.prompt_id);
      assert.deepEqual(
        urls(output),
        saved.map((image) => viewUrl(s.base, image)),
        `${label}: the result names SaveImage's images, not the sampler's figures`,
      );
      assert.deepEqual(progress.at(-1), [4, 4], label);
      for (const url of urls(output)) {
        const png = Buffer.from(await (await fetch(url)).arrayBuffer());
        assert.equal(decodePng(png).image.width, 28);
      }
    }
  });

  it('a resubmitted identical prompt resolves with the same images; so does polling', async () => {
    const first = (await client.enqueue(s.fourStep({ seed: 9 }))) as Output;
    const again = (await client.enqueue(s.fourStep({ seed: 9 }))) as Output;
    assert.notEqual(again.prompt_id, first.prompt_id);
    assert.deepEqual(urls(again), urls(first));
    const polled = (await client.enqueue_polling(s.fourStep({ seed: 9 }))) as Output;
    assert.deepEqual(urls(polled), urls(first));
  });

  it('builds a workflow with its programmable API, runs it, and reports an interrupt as an interruption', async () => {
    const build = (steps: number) => {
      const workflow = new Workflow();
      const nodes = workflow.classes as Record<string, (inputs: Record<string, unknown>) => unknown[]>;
      const [model] = nodes.LoadModel({ model_name: 'fmnist' });
      const [conditioning] = nodes.ClassLabel({ label: 'Coat' });
      const [schedule] = nodes.StepScheduler({ model, steps, spacing: 'trailing', rho: 7, timesteps: '', learned: '' });
      const [images] = nodes.FewStepSampler({ model, conditioning, schedule, seed: 5, batch_size: 8, cfg: 1.5, sampler: 'dpmpp_2m', eta: 0 });
      nodes.SaveImage({ images, filename_prefix: 'built' });
      return workflow;
    };
    const output = (await build(4).invoke(client)) as Output;
    assert.equal(urls(output).length, 8);
    assert.match(urls(output)[0], /filename=built_\d{5}_\.png/);

    let stopped = false;
    const running = build(400).instance(client, {
      progress: () => {
        if (!stopped) void running.interrupt();
        stopped = true;
      },
    });
    await running.enqueue();
    await assert.rejects(running.wait(), (error: Error) => error instanceof WorkflowInterruptedError);
    const next = (await client.enqueue(s.fourStep({ seed: 12 }))) as Output;
    assert.equal(urls(next).length, 2, 'the queue goes on');
  });

  it('free() is answered, and clears cached outputs', async () => {
    const cachedNodes: string[][] = [];
    const off = client.on('execution_cached', (data: { nodes: string[] }) => cachedNodes.push(data.nodes));
    await client.enqueue(s.fourStep({ seed: 21 }));
    await client.enqueue(s.fourStep({ seed: 21 }));
    await client.free({ unload_models: true, free_memory: true });
    await client.enqueue(s.fourStep({ seed: 21 }));
    off();
    assert.deepEqual(
      cachedNodes.map((nodes) => nodes.length),
      [3, 5, 0],
      'cold except the model and label; all cached; after free() none',
    );
  });

  it('takes SaveImageWebsocket images as websocket frames (through its workflow API, which waits for execution_success)', async () => {
    const workflow = new Workflow();
    const nodes = workflow.classes as Record<string, (inputs: Record<string, unknown>) => unknown[]>;
    const [model] = nodes.LoadModel({ model_name: 'fmnist' });
    const [conditioning] = nodes.ClassLabel({ label: 'Bag' });
    const [schedule] = nodes.StepScheduler({ model, steps: 4, spacing: 'trailing', rho: 7, timesteps: '', learned: '' });
    const [images] = nodes.FewStepSampler({ model, conditioning, schedule, seed: 30, batch_size: 2, cfg: 1.5, sampler: 'dpmpp_2m', eta: 0 });
    nodes.SaveImageWebsocket({ images });
    const output = (await workflow.invoke(client)) as Output;
    assert.deepEqual(urls(output), [], 'no file');
    const frames = output.images.filter((image) => image.type === 'buff').map((frame) => decodePng(Buffer.from(frame.data as ArrayBuffer)).image);
    // The sampler's previews (one tiled image per step) come over the websocket too; the last two frames are the images.
    assert.deepEqual(
      frames.slice(-2).map((image) => [image.width, image.height]),
      [
        [28, 28],
        [28, 28],
      ],
    );
  });
});
