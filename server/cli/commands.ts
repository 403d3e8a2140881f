import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Engine } from '../../engine/index.ts';
import { formatErrors } from '../../engine/index.ts';
import { loadWorkflowFile, UsageError } from './load.ts';

/** `fewstep validate FILE`: exit 0 when valid, 2 with every problem listed. */
export function validateCommand(engine: Engine, file: string, options: { json: boolean; input?: string; out?: string }): number {
  const source = loadWorkflowFile(file);
  // The folders `fewstep run` would use: images a LoadImage names must be there.
  const folders = {
    input: path.resolve(options.input ?? 'input'),
    output: path.resolve(options.out ?? 'output'),
    temp: path.join(os.tmpdir(), 'fewstep', 'temp'),
  };
  const validation = engine.withFolders(folders).validate(source.kind === 'workflow' ? source.workflow : source.prompt);
  if (options.json) {
    console.log(
      JSON.stringify(
        validation.ok
          ? { ok: true, outputs: validation.graph.outputs, order: validation.graph.order }
          : { ok: false, error: validation.error, node_errors: validation.nodeErrors },
        null,
        2,
      ),
    );
  } else if (validation.ok) {
    console.log(`${file}: valid (${validation.graph.order.length} nodes to run, outputs: ${validation.graph.outputs.join(', ')})`);
  } else {
    console.error(`${file}: invalid workflow`);
    for (const line of formatErrors(validation.error, validation.nodeErrors)) console.error(line);
  }
  return validation.ok ? 0 : 2;
}

/** `fewstep nodes`: the node types, as a table or ComfyUI's /object_info JSON. */
export function nodesCommand(engine: Engine, options: { json: boolean }): number {
  const info = engine.objectInfo();
  if (options.json) {
    console.log(JSON.stringify(info, null, 2));
    return 0;
  }
  for (const entry of Object.values(info)) {
    const inputs = Object.entries({ ...entry.input.required, ...entry.input.optional })
      .map(([name, [type]]) => `${name}:${Array.isArray(type) ? 'COMBO' : type}`)
      .join(' ');
    console.log(`${entry.name.padEnd(18)} ${entry.category.padEnd(12)} ${entry.description}`);
    console.log(`${''.padEnd(31)} in: ${inputs || '-'}  out: ${entry.output.join(' ') || '-'}`);
  }
  return 0;
}

/** `fewstep convert FILE --to prompt|ui`: converts between the UI and API formats. */
export function convertCommand(engine: Engine, file: string, options: { to: string; out?: string }): number {
  if (options.to !== 'prompt' && options.to !== 'ui') throw new UsageError(`--to ${options.to}: expected "prompt" or "ui"`);
  const source = loadWorkflowFile(file);
  let result: unknown;
  if (options.to === 'prompt') {
    const converted = engine.toPrompt(source.kind === 'workflow' ? source.workflow : source.prompt);
    if (!converted.ok) throw new UsageError(`${file}: ${converted.errors.join('; ')}`);
    result = converted.prompt;
  } else {
    result = source.kind === 'workflow' ? source.workflow : engine.toWorkflow(source.prompt);
  }
  const text = `${JSON.stringify(result, null, 2)}\n`;
  if (options.out) writeFileSync(options.out, text);
  else process.stdout.write(text);
  return 0;
}
