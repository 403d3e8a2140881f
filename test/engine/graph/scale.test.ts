import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEngine, MAX_PROMPT_NODES } from '../../../engine/index.ts';
import { dependentOutputs, topologicalOrder } from '../../../engine/graph/order.ts';
import { allNodes } from '../../../nodes/index.ts';
import { makeTestNodes } from '../../fixtures/test-nodes.ts';

// Validation and ordering must stay linear in the node count, and the node count is capped.
// These tests check structure (results, sizes, the cap), never time.
const engine = createEngine({ nodes: [...allNodes, ...makeTestNodes().nodes] });

/** Solid -> Invert x (length - 2) -> Collect, ids 0..length-1. */
function chain(length: number): Record<string, unknown> {
  const prompt: Record<string, unknown> = { '0': { class_type: 'Solid', inputs: {} } };
  for (let i = 1; i < length - 1; i++) prompt[i] = { class_type: 'Invert', inputs: { images: [String(i - 1), 0] } };
  prompt[length - 1] = { class_type: 'Collect', inputs: { images: [String(length - 2), 0] } };
  return prompt;
}

/** A UI workflow: Solid -> `reroutes` Reroutes in a row -> `outputs` Collect nodes reading the last one. */
function rerouteWorkflow(reroutes: number, outputs: number) {
  const nodes: unknown[] = [{ id: 1, type: 'Solid', mode: 0, widgets_values: [0.5, 1, 0, 'fixed'] }];
  const links: unknown[] = [];
  let from = 1;
  for (let i = 0; i < reroutes; i++) {
    const id = 2 + i;
    links.push([links.length + 1, from, 0, id, 0, 'IMAGE']);
    nodes.push({ id, type: 'Reroute', inputs: [{ name: '', type: '*', link: links.length }] });
    from = id;
  }
  for (let i = 0; i < outputs; i++) {
    links.push([links.length + 1, from, 0, 2 + reroutes + i, 0, 'IMAGE']);
    nodes.push({ id: 2 + reroutes + i, type: 'Collect', mode: 0, inputs: [{ name: 'images', type: 'IMAGE', link: links.length }], widgets_values: [1] });
  }
  return { last_node_id: nodes.length, last_link_id: links.length, nodes, links, version: 0.4 };
}

test('a 9,000-node chain validates and runs in dependency order', () => {
  const result = engine.validate(chain(9000));
  assert.ok(result.ok, JSON.stringify(!result.ok && result.error));
  assert.equal(result.graph.order.length, 9000);
  assert.deepEqual(
    result.graph.order,
    Array.from({ length: 9000 }, (_, i) => String(i)),
  );
  assert.deepEqual(result.graph.nodes.get('4500')!.links.images, { node: '4499', output: 'IMAGE', index: 0 });
});

test('the node cap: exactly the cap validates, one more is refused with an error naming the cap', () => {
  assert.equal(MAX_PROMPT_NODES, 10_000);
  assert.ok(engine.validate(chain(MAX_PROMPT_NODES)).ok);
  for (const input of [chain(20_000), chain(MAX_PROMPT_NODES + 1), rerouteWorkflow(MAX_PROMPT_NODES, 1)]) {
    const result = engine.validate(input);
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.error.type, 'invalid_prompt');
    assert.equal(result.error.message, 'Too many nodes');
    assert.match(result.error.details, /at most 10000 nodes/);
    assert.equal(result.error.extra_info.max_nodes, 10_000);
    assert.deepEqual(result.nodeErrors, {});
  }
});

test('ordering: many nodes ready at once come out in id order; a long cycle is found', () => {
  // Inserted in reverse; "z" waits on "1" and sorts after every number.
  const deps = new Map<string, string[]>([['z', ['1']]]);
  for (let i = 9000; i > 0; i--) deps.set(String(i), []);
  const { order, cyclic } = topologicalOrder(deps.keys(), deps);
  assert.deepEqual(order, [...Array.from({ length: 9000 }, (_, i) => String(i + 1)), 'z']);
  assert.deepEqual(cyclic, []);
  const ring = new Map(Array.from({ length: 5000 }, (_, i) => [String(i), [String((i + 1) % 5000)]]));
  const behind = new Map([...ring, ['tail', ['0']]]);
  const result = topologicalOrder(behind.keys(), behind);
  assert.deepEqual(result.order, []);
  assert.equal(result.cyclic.length, 5001);
});

test('a 3,000-node cycle is reported on every node with messages of bounded size', () => {
  const prompt: Record<string, unknown> = {};
  for (let i = 0; i < 3000; i++) prompt[i] = { class_type: 'Invert', inputs: { images: [String((i + 1) % 3000), 0] } };
  prompt.out = { class_type: 'Collect', inputs: { images: ['0', 0] } };
  const result = engine.validate(prompt);
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.equal(Object.keys(result.nodeErrors).length, 3001, 'the output behind the cycle too');
  for (const { errors } of Object.values(result.nodeErrors)) {
    assert.equal(errors[0].type, 'dependency_cycle');
    assert.ok(errors[0].details.length < 300, errors[0].details.slice(0, 100));
  }
  assert.match(result.nodeErrors['7'].errors[0].details, /node 7 depends on itself .*0, 1, 2, .* and 2991 more/);
});

test('thousands of unknown nodes give one message of bounded size', () => {
  const prompt: Record<string, unknown> = {};
  for (let i = 0; i < 5000; i++) prompt[i] = { class_type: 'KSampler', inputs: {} };
  const result = engine.validate(prompt);
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.match(result.error.details, /KSampler \(node 0, 1, .*, 9 and 4990 more\)/);
  assert.ok(result.error.details.length < 500);
  assert.equal(Object.keys(result.nodeErrors).length, 5000);
});

test('an error blocking thousands of outputs lists the first 32 of them', () => {
  const prompt: Record<string, unknown> = { '0': { class_type: 'Solid', inputs: { value: 7 } } };
  for (let i = 1; i <= 5000; i++) prompt[i] = { class_type: 'Collect', inputs: { images: ['0', 0] } };
  const result = engine.validate(prompt);
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.deepEqual(
    result.nodeErrors['0'].dependent_outputs,
    Array.from({ length: 32 }, (_, i) => String(i + 1)),
  );
});

test('dependentOutputs: every node gets min(limit, all) of the outputs needing it, through shared ancestors', () => {
  // A chain 0 <- 1 <- ... <- 99, with output o<i> reading node i: node i is needed by outputs o<i>..o<99>.
  const deps = new Map<string, string[]>();
  for (let i = 0; i < 100; i++) deps.set(String(i), i === 0 ? [] : [String(i - 1)]);
  const outputs = Array.from({ length: 100 }, (_, i) => `o${99 - i}`);
  for (let i = 0; i < 100; i++) deps.set(`o${i}`, [String(i)]);
  const found = dependentOutputs(outputs, deps, 5);
  assert.deepEqual(found.get('0'), ['o99', 'o98', 'o97', 'o96', 'o95']);
  assert.deepEqual(found.get('97'), ['o99', 'o98', 'o97']);
  assert.deepEqual(found.get('o3'), ['o3']);
});

test('a UI workflow with a 9,000-Reroute chain feeding 900 outputs converts and validates', () => {
  const result = engine.validate(rerouteWorkflow(9000, 900));
  assert.ok(result.ok, JSON.stringify(!result.ok && result.error));
  assert.equal(result.graph.outputs.length, 900);
  assert.deepEqual(result.graph.nodes.get('9002')!.links.images, { node: '1', output: 'IMAGE', index: 0 });
});
