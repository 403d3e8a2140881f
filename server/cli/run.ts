import path from 'node:path';
import os from 'node:os';
import type { Engine, ImageRef } from '../../engine/index.ts';
import { formatErrors } from '../../engine/index.ts';
import { syncWidgetValues } from '../../engine/graph/sync-widgets.ts';
import { loadWorkflowFile, UsageError } from './load.ts';
import { applyAssignments, parseAssignment } from './set-values.ts';
import { createProgressReporter } from './progress.ts';

export interface RunCommandOptions {
  out: string;
  set: string[];
  json: boolean;
  input?: string;
}

/** `fewstep run FILE`: runs a workflow in-process; returns the exit code (0 ok, 1 failed, 2 invalid). */
export async function runCommand(engine: Engine, file: string, options: RunCommandOptions): Promise<number> {
  const source = loadWorkflowFile(file);
  const converted = source.kind === 'workflow' ? engine.toPrompt(source.workflow) : engine.toPrompt(source.prompt);
  if (!converted.ok) throw new UsageError(`${file}: ${converted.errors.join('; ')}`);
  const assignments = options.set.map(parseAssignment);
  const prompt = applyAssignments(engine, converted.prompt, assignments);
  const workflow =
    source.kind === 'workflow' ? (assignments.length > 0 ? syncWidgetValues(engine.registry, source.workflow, prompt) : source.workflow) : undefined;

  const folders = {
    output: path.resolve(options.out),
    input: path.resolve(options.input ?? 'input'),
    temp: path.join(os.tmpdir(), 'fewstep', 'temp'),
  };
  // Checked against the folders the run uses: a missing or outside image is an invalid workflow (exit 2).
  const validation = engine.withFolders(folders).validate(prompt);
  if (!validation.ok) {
    console.error(`${file}: invalid workflow`);
    for (const line of formatErrors(validation.error, validation.nodeErrors)) console.error(line);
    if (options.json) console.log(JSON.stringify({ status: 'invalid', error: validation.error, node_errors: validation.nodeErrors }));
    return 2;
  }

  const classTypes = Object.fromEntries(Object.entries(prompt).map(([id, node]) => [id, node.class_type]));
  const progress = createProgressReporter(classTypes);
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  const result = await engine.run(prompt, { folders, workflow, signal: controller.signal, onEvent: progress.onEvent });
  process.off('SIGINT', onSigint);
  if (result.status === 'invalid') return 2;

  const withPath = (image: ImageRef) => ({
    ...image,
    path: path.join(image.type === 'output' ? folders.output : folders.temp, image.subfolder, image.filename),
  });
  const outputs = Object.fromEntries(Object.entries(result.outputs).map(([id, ui]) => [id, ui.images ? { ...ui, images: ui.images.map(withPath) } : ui]));
  if (options.json) {
    console.log(
      JSON.stringify(
        { status: result.status, prompt_id: result.promptId, outputs, stats: result.stats, ...(result.status === 'failed' ? { error: result.error } : {}) },
        null,
        2,
      ),
    );
  } else {
    for (const [id, ui] of Object.entries(result.outputs)) {
      for (const image of ui.images ?? []) console.log(`node ${id} (${classTypes[id]}): ${path.relative(process.cwd(), withPath(image).path)}`);
    }
    for (const [id, stats] of Object.entries(result.stats)) console.log(`node ${id} (${classTypes[id]}): ${formatStats(stats)}`);
  }
  if (result.status === 'failed') {
    console.error(`run failed: ${result.error.message}`);
    return 1;
  }
  if (result.status === 'interrupted') {
    console.error('run interrupted');
    return 1;
  }
  return 0;
}

/** Scalar figures as `name=value`, numbers rounded; nested detail (per-step tables) is left to --json. */
function formatStats(stats: Record<string, unknown>): string {
  return Object.entries(stats)
    .filter(([, value]) => value !== null && typeof value !== 'object')
    .map(([name, value]) => `${name}=${typeof value === 'number' && !Number.isInteger(value) ? Number(value.toPrecision(4)) : value}`)
    .join(' ');
}
