/** Reward functions (no graph imports): classifier confidence, domain FD, JPEG compressibility, ONNX scorers, weighted sums. */
export { symmetricEigen, sqrtPsd, matmul, trace, type SymmetricEigen } from './linalg.ts';
export { FrechetReference, featureMoments, frechetDistance, momentsFromArrays, type FeatureMoments } from './frechet.ts';
export { classConfidence, classAgreement, softmaxRows, mean } from './classifier-scores.ts';
export { jpegSizes, jpegCompressibility, JPEG_QUALITY } from './jpeg.ts';
export { inspectOnnxScorer, scorerFileInside, resizeImages, OnnxScorer, OnnxScorerError, type ImagesLike, type ScorerShape } from './onnx-scorer.ts';
export { onnxGraphInfo, readOnnxGraphInfo, OnnxInfoError, type OnnxGraphInfo, type OnnxValueInfo } from './onnx-info.ts';
export {
  RewardWeightsSchema,
  combineRewards,
  scoreImages,
  type RewardWeights,
  type RewardComponents,
  type Scores,
  type ScoreOptions,
  type FeatureClassifier,
} from './reward.ts';
