// Public entry of the ONNX layer: sessions, providers, the segmented model and its classifier.
export { ModelError, type ModelErrorCode } from './model-error.ts';
export {
  loadManifest,
  ManifestSchema,
  SegmentSchema,
  ClassifierInfoSchema,
  SEGMENT_IO,
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  type ModelManifest,
  type Segment,
  type SegmentKind,
  type ClassifierInfo,
  type ManifestIssue,
} from './manifest.ts';
export {
  cudaAvailability,
  providerSettingFromEnv,
  preferredProvider,
  withProviderFallback,
  executionProvidersFor,
  PROVIDER_SETTINGS,
  type ProviderSetting,
  type ActiveProvider,
  type ProviderLogger,
} from './providers.ts';
export {
  sessionOptionsFor,
  sessionTuningFromEnv,
  SESSION_TUNINGS,
  DEFAULT_SESSION_TUNING,
  DEFAULT_TUNING_NAME,
  type SessionTuning,
  type SessionTuningName,
  type ThreadSpinning,
} from './session-options.ts';
export { SegmentedModel, type ModelLoadOptions, type EmbedInput } from './segmented-model.ts';
export { Classifier, loadFeatureStats, FeatureStatsSchema, type FeatureStats, type ClassifierOutput } from './classifier.ts';
export { ModelStore, DEFAULT_MODELS_ROOT } from './model-store.ts';
export { softmax, labelsToInt64, elementCount, type FloatTensor, type Labels } from './tensors.ts';
