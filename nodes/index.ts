import type { AnyNodeSpec } from '../engine/node.ts';
import LoadModel from './LoadModel.ts';
import SkipGate from './SkipGate.ts';
import ClassLabel from './ClassLabel.ts';
import StepScheduler from './StepScheduler.ts';
import FewStepSampler from './FewStepSampler.ts';
import SaveImage from './SaveImage.ts';
import SaveImageWebsocket from './SaveImageWebsocket.ts';
import PreviewImage from './PreviewImage.ts';
import LoadImage from './LoadImage.ts';
import RewardScorer from './RewardScorer.ts';

/** Every node type fewstep ships, in the order the editor's menu lists them. */
export const allNodes: readonly AnyNodeSpec[] = [
  LoadModel,
  SkipGate,
  ClassLabel,
  StepScheduler,
  FewStepSampler,
  SaveImage,
  SaveImageWebsocket,
  PreviewImage,
  LoadImage,
  RewardScorer,
];
