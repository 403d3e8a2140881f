/**
 * Engine overheads: validation and conversion of a generated 1,000-node graph, and executor
 * overhead per node (a run of N trivial nodes / N). Prints a table; run with
 * `node --import tsx bench/engine.ts`.
 */
import Type from 'typebox';
import { createEngine, defineNode } from '../engine/index.ts';
import type { Prompt } from '../engine/graph/prompt.ts';
import { allNodes } from '../nodes/index.ts';

const Pass = defineNode({
  type: 'Pass',
  displayName: 'Pass',
  category: 'bench',
  description: 'Adds its widget to its input.',
  inputs: { value: { type: 'FLOAT', optional: true } },
  widgets: { add: Type.Number({ default: 1, minimum: -1e9, maximum: 1e9 }) },
  outputs: { FLOAT: 'FLOAT' },
  run: (_ctx, { value, add }) => ({ outputs: { FLOAT: (value ?? 0) + add } }),
});
const Sink = defineNode({
  type: 'Sink',
  displayName: 'Sink',
  category: 'bench',
  description: 'An output node.',
  inputs: { value: { type: 'FLOAT' } },
  outputNode: true,
  run: (_ctx, { value }) => ({ outputs: {}, ui: { text: [String(value)] } }),
});

const engine = createEngine({ nodes: [...allNodes, Pass, Sink] });
const folders = { output: '/tmp/fewstep-bench', temp: '/tmp/fewstep-bench', input: '/tmp' };

/** A chain of `n` Pass nodes with a branch every 10 nodes feeding its own Sink. */
function graph(n: number) {
  const prompt: Prompt = {};
  for (let i = 1; i <= n; i++) {
    prompt[String(i)] = { class_type: 'Pass', inputs: { add: i, ...(i > 1 ? { value: [String(i - 1), 0] } : {}) } };
    if (i % 10 === 0) prompt[`s${i}`] = { class_type: 'Sink', inputs: { value: [String(i), 0] } };
  }
  return prompt;
}

function time(repeats: number, body: () => unknown): number {
  body();
  const started = performance.now();
  for (let r = 0; r < repeats; r++) body();
  return (performance.now() - started) / repeats;
}

async function timeAsync(repeats: number, body: () => Promise<unknown>): Promise<number> {
  await body();
  const started = performance.now();
  for (let r = 0; r < repeats; r++) await body();
  return (performance.now() - started) / repeats;
}

const prompt = graph(1000);
const ui = engine.toWorkflow(prompt);
const rows: Array<[string, string]> = [
  ['nodes in graph', String(Object.keys(prompt).length)],
  ['validate prompt (ms)', time(20, () => engine.validate(prompt)).toFixed(2)],
  ['prompt -> UI (ms)', time(20, () => engine.toWorkflow(prompt)).toFixed(2)],
  ['UI -> prompt (ms)', time(20, () => engine.toPrompt(ui)).toFixed(2)],
  ['validate UI workflow (ms)', time(20, () => engine.validate(ui)).toFixed(2)],
];
for (const n of [100, 1000]) {
  const g = graph(n);
  const nodes = Object.keys(g).length;
  const ms = await timeAsync(5, () => engine.run(g, { folders }));
  rows.push([`run of ${nodes} trivial nodes (ms)`, ms.toFixed(2)], [`executor overhead per node (us), n=${nodes}`, ((ms * 1000) / nodes).toFixed(1)]);
}
const width = Math.max(...rows.map(([k]) => k.length));
console.log(`${'| measure'.padEnd(width + 2)} | value |`);
console.log(`|${'-'.repeat(width + 2)}|-------|`);
for (const [k, v] of rows) console.log(`| ${k.padEnd(width)} | ${v} |`);
