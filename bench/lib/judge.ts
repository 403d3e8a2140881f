/**
 * The independent judge: a second classifier beside the model (models/<name>/judge.onnx, built by
 * models/recipe/judge.py) with a different architecture, seed and augmentation. Only bench/ loads
 * it, to report figures on a network no reward, search or selection ever used; nodes/, engine/
 * and server/ never name it (test/bench/lib/judge.test.ts checks that).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Type from 'typebox';
import Value from 'typebox/value';
import { Classifier, ClassifierInfoSchema, loadManifest, type ModelLoadOptions } from '../../engine/onnx/index.ts';
import type { FrechetReference } from '../../engine/rewards/frechet.ts';
import { frechetReferenceFor } from '../../engine/sampling/evaluate.ts';

/** The judge's description and statistics, one file: what judge.py writes beside judge.onnx. */
export const JUDGE_STATS_FILE = 'judge-stats.json';

const JudgeStatsSchema = Type.Intersect([
  Type.Omit(ClassifierInfoSchema, ['stats']),
  Type.Object({ network: Type.String(), dim: Type.Integer({ minimum: 1 }), n: Type.Integer({ minimum: 1 }) }),
]);
export type JudgeInfo = Type.Static<typeof JudgeStatsSchema>;

export interface Judge {
  classifier: Classifier;
  reference: FrechetReference;
  info: JudgeInfo;
}

export function hasJudge(modelDir: string): boolean {
  return existsSync(path.join(modelDir, JUDGE_STATS_FILE));
}

/** Loads the judge kept in modelDir; errors name the file and field. */
export async function loadJudge(modelDir: string, options: ModelLoadOptions = {}): Promise<Judge> {
  const statsPath = path.join(modelDir, JUDGE_STATS_FILE);
  if (!existsSync(statsPath)) throw new Error(`${JUDGE_STATS_FILE}: missing beside the model; build it with models/recipe/judge.py`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(statsPath, 'utf8'));
  } catch (cause) {
    // JSON.parse's message names no path; a read error's would, so it is not repeated.
    throw new Error(`${JUDGE_STATS_FILE}: not readable JSON${cause instanceof SyntaxError ? ` (${cause.message})` : ''}`, { cause });
  }
  const [error] = [...Value.Errors(JudgeStatsSchema, json)];
  if (error) throw new Error(`${JUDGE_STATS_FILE}: ${error.instancePath.replace(/^\//, '') || '(root)'}: ${error.message}`);
  const info = json as JudgeInfo;
  const manifest = await loadManifest(modelDir);
  const classifier = await Classifier.open(modelDir, { ...info, stats: JUDGE_STATS_FILE }, manifest, { manifestPath: statsPath, field: 'judge' }, options);
  return { classifier, reference: await frechetReferenceFor(classifier), info };
}
