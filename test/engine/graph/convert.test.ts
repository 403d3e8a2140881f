import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createEngine } from '../../../engine/index.ts';
import { allNodes } from '../../../nodes/index.ts';
import { makeTestNodes } from '../../fixtures/test-nodes.ts';

const engine = createEngine({ nodes: [...allNodes, ...makeTestNodes().nodes] });

/** A UI workflow (version 0.4) in the shape litegraph/ComfyUI save. */
function uiWorkflow() {
  return {
    last_node_id: 6,
    last_link_id: 5,
    nodes: [
      { id: 1, type: 'Solid', pos: [0, 0], mode: 0, outputs: [{ name: 'IMAGE', type: 'IMAGE', links: [1] }], widgets_values: [0.25, 2, 7, 'fixed'] },
      {
        id: 2,
        type: 'Invert',
        pos: [300, 0],
        mode: 4,
        inputs: [{ name: 'images', type: 'IMAGE', link: 1 }],
        outputs: [{ name: 'IMAGE', type: 'IMAGE', links: [2] }],
        widgets_values: ['half'],
      },
      { id: 3, type: 'Reroute', pos: [500, 0], inputs: [{ name: '', type: '*', link: 2 }], outputs: [{ name: '', type: 'IMAGE', links: [3] }] },
      {
        id: 4,
        type: 'Collect',
        pos: [700, 0],
        mode: 0,
        title: 'Mean',
        inputs: [
          { name: 'images', type: 'IMAGE', link: 3 },
          { name: 'scale', type: 'FLOAT', link: 4, widget: { name: 'scale' } },
        ],
        widgets_values: [1],
      },
      {
        id: 5,
        type: 'PrimitiveNode',
        pos: [500, 200],
        outputs: [{ name: 'FLOAT', type: 'FLOAT', links: [4], widget: { name: 'scale' } }],
        widgets_values: [3],
      },
      { id: 6, type: 'Collect', pos: [700, 200], mode: 2, inputs: [{ name: 'images', type: 'IMAGE', link: 5 }], widgets_values: [1] },
    ],
    links: [
      [1, 1, 0, 2, 0, 'IMAGE'],
      [2, 2, 0, 3, 0, 'IMAGE'],
      [3, 3, 0, 4, 0, 'IMAGE'],
      [4, 5, 0, 4, 1, 'FLOAT'],
      [5, 1, 0, 6, 0, 'IMAGE'],
    ],
    groups: [],
    config: {},
    extra: {},
    version: 0.4,
  };
}

test('UI -> prompt: widgets by schema order (seed control skipped), bypass, reroute, primitive, muted', () => {
  const converted = engine.toPrompt(uiWorkflow());
  assert.ok(converted.ok);
  assert.deepEqual(converted.prompt, {
    '1': { class_type: 'Solid', inputs: { value: 0.25, count: 2, seed: 7 } },
    '4': { class_type: 'Collect', inputs: { scale: 3, images: ['1', 0] }, _meta: { title: 'Mean' } },
  });
});

test('version 1 workflows with link objects convert the same way', () => {
  const v04 = uiWorkflow();
  const v1 = {
    version: 1,
    state: { lastNodeId: 6, lastLinkId: 5 },
    nodes: v04.nodes,
    links: v04.links.map(([id, origin_id, origin_slot, target_id, target_slot, type]) => ({ id, origin_id, origin_slot, target_id, target_slot, type })),
  };
  assert.deepEqual(engine.toPrompt(v1), engine.toPrompt(v04));
});

test('prompt -> UI -> prompt keeps the meaning, and the layout runs left to right', () => {
  const prompt = {
    '1': { class_type: 'Solid', inputs: { value: 0.25, count: 2, seed: 3 } },
    '2': { class_type: 'Mix', inputs: { a: ['1', 0] } },
    '5': { class_type: 'Invert', inputs: { images: ['2', 0], mode: 'half' } },
    '7': { class_type: 'Collect', inputs: { images: ['5', 0], scale: ['2', 1] }, _meta: { title: 'Out' } },
  };
  const ui = engine.toWorkflow(prompt);
  assert.equal(ui.links.length, 4);
  const x = (id: number) => (ui.nodes.find((n) => n.id === id)!.pos as number[])[0];
  assert.ok(x(1) < x(2) && x(2) < x(5) && x(5) < x(7));
  const back = engine.toPrompt(JSON.parse(JSON.stringify(ui)));
  assert.ok(back.ok);
  assert.deepEqual(back.prompt, prompt);
  assert.ok(engine.validate(ui).ok, 'the generated UI workflow validates');
});

test('a malformed UI workflow gives errors with JSON paths, not an exception', () => {
  const broken = uiWorkflow() as { nodes: unknown[] };
  broken.nodes[0] = { id: 'x', widgets_values: 5 };
  const converted = engine.toPrompt(broken);
  assert.equal(converted.ok, false);
  if (!converted.ok) assert.match(converted.errors.join('\n'), /workflow\/nodes\/0/);
});

test('property: validate, toPrompt and toWorkflow never throw on any JSON value', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      engine.validate(value);
      engine.toPrompt(value);
      engine.toWorkflow(value);
    }),
    { numRuns: 400 },
  );
});

test('property: random corruptions of a real workflow never make validate throw', () => {
  const field = fc.oneof(fc.jsonValue(), fc.constant(null), fc.constant(undefined));
  fc.assert(
    fc.property(
      fc.nat(5),
      fc.constantFrom('id', 'type', 'inputs', 'outputs', 'widgets_values', 'mode', 'pos'),
      field,
      fc.nat(4),
      fc.jsonValue(),
      (node, key, value, link, linkValue) => {
        const workflow = uiWorkflow() as unknown as { nodes: Record<string, unknown>[]; links: unknown[] };
        workflow.nodes[node][key] = value;
        workflow.links[link] = linkValue;
        engine.validate(workflow);
        const converted = engine.toPrompt(workflow);
        if (converted.ok) engine.toWorkflow(converted.prompt);
      },
    ),
    { numRuns: 400 },
  );
});

test('property: random prompts built from real node types never make validate throw', () => {
  const types = ['Solid', 'Invert', 'Mix', 'Collect', 'SaveImage', 'Nope'];
  const input = fc.oneof(fc.jsonValue(), fc.tuple(fc.oneof(fc.nat(6).map(String), fc.nat(6)), fc.integer({ min: -1, max: 3 })));
  const node = fc.record({
    class_type: fc.constantFrom(...types),
    inputs: fc.dictionary(fc.constantFrom('images', 'a', 'b', 'value', 'count', 'mode', 'scale', 'x'), input),
  });
  fc.assert(
    fc.property(fc.dictionary(fc.nat(6).map(String), node), (prompt) => {
      const result = engine.validate(prompt);
      if (!result.ok) assert.ok(result.error.type);
    }),
    { numRuns: 500 },
  );
});
