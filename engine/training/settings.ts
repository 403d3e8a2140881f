import Type, { type Static } from 'typebox';
import Value from 'typebox/value';
import { TrainingError } from './errors.ts';

/**
 * Every training setting's type, bounds and meaning, once: `fewstep train`'s checks, POST
 * /train's checks and their messages are all read from this schema (resolveTrainSettings).
 */
export const TrainSettingsSchema = Type.Object(
  {
    iterations: Type.Integer({ minimum: 1, maximum: 100_000 }),
    group: Type.Integer({ minimum: 2, maximum: 1024, multipleOf: 2, description: 'schedules per iteration, drawn in mirrored pairs, all on the same seeds' }),
    batch: Type.Integer({ minimum: 2, maximum: 4096, description: 'images per rollout (balanced classes); the FD reward needs at least 2' }),
    heldOut: Type.Integer({ minimum: 2, maximum: 100_000, description: 'images for each held-out FD' }),
    evaluateEvery: Type.Integer({ minimum: 1 }),
    patience: Type.Integer({ minimum: 0 }),
    learningRate: Type.Number({ exclusiveMinimum: 0 }),
    std: Type.Number({ exclusiveMinimum: 0, description: 'exploration noise: std of the Gaussian policy, in action units' }),
    learnGuidance: Type.Boolean(),
    learnEta: Type.Boolean(),
    seed: Type.Integer({ minimum: 0 }),
    maxMinutes: Type.Number({ exclusiveMinimum: 0, maximum: 24 * 60, description: 'stop after this many minutes (checked between iterations)' }),
    computePenalty: Type.Number({ minimum: 0, description: 'with a SkipGate in learned mode: reward minus this x (FLOPs used / FLOPs of the full model)' }),
  },
  { additionalProperties: false },
);
export type TrainSettings = Static<typeof TrainSettingsSchema>;
type SettingName = keyof TrainSettings;

export const DEFAULT_TRAIN_SETTINGS: TrainSettings = {
  iterations: 40,
  group: 8,
  batch: 64,
  heldOut: 256,
  evaluateEvery: 4,
  patience: 3,
  learningRate: 0.08,
  std: 0.25,
  learnGuidance: true,
  learnEta: false,
  seed: 0,
  maxMinutes: 9,
  computePenalty: 20,
};

interface SettingBounds {
  type?: string;
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
  multipleOf?: number;
  description?: string;
}

/** What a setting must be, in words, from its schema: "an even number >= 2 and <= 1024". */
function settingRule(bounds: SettingBounds): string {
  if (bounds.type === 'boolean') return 'true or false';
  const kind = bounds.multipleOf === 2 ? 'an even number' : bounds.type === 'integer' ? 'a whole number' : 'a number';
  const limits = [
    bounds.minimum !== undefined ? `>= ${bounds.minimum}` : undefined,
    bounds.exclusiveMinimum !== undefined ? `> ${bounds.exclusiveMinimum}` : undefined,
    bounds.maximum !== undefined ? `<= ${bounds.maximum}` : undefined,
  ].filter((limit) => limit !== undefined);
  return [kind, limits.join(' and ')].filter(Boolean).join(' ');
}

/** `--held-out` for heldOut: how the CLI spells a setting. */
const cliFlag = (field: string) => `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/**
 * The defaults with `partial` laid over them, checked against TrainSettingsSchema: an impossible
 * setting is a TrainingError ('invalid_settings') naming it (`label` turns a field name into
 * what the user typed: `--group` or `settings.group`). `strict` refuses names that are not
 * settings (POST /train); without it they are ignored (the CLI passes its other options along).
 * Only the schema's own properties are settings: `constructor` or `__proto__` are not.
 */
export function resolveTrainSettings(
  partial: object,
  label: (field: string) => string = cliFlag,
  { strict = false }: { strict?: boolean } = {},
): TrainSettings {
  const properties = TrainSettingsSchema.properties as Record<SettingName, SettingBounds>;
  const settings: Record<string, unknown> = { ...DEFAULT_TRAIN_SETTINGS };
  for (const [field, value] of Object.entries(partial)) {
    if (!Object.hasOwn(properties, field)) {
      if (strict) throw new TrainingError('invalid_settings', `${label(field)}: not a training setting (settings: ${Object.keys(properties).join(', ')})`);
      continue;
    }
    if (value === undefined) continue;
    const bounds = properties[field as SettingName];
    if (!Value.Check(TrainSettingsSchema.properties[field as SettingName], value)) {
      const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
      throw new TrainingError(
        'invalid_settings',
        `${label(field)} ${shown}: must be ${settingRule(bounds)}${bounds.description ? ` (${bounds.description})` : ''}`,
      );
    }
    settings[field] = value;
  }
  return settings as TrainSettings;
}
