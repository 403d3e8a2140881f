import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import ort from 'onnxruntime-node';

/** What a user asks for. 'auto' means CUDA where this onnxruntime-node build has it, else CPU. */
export type ProviderSetting = 'cpu' | 'cuda' | 'auto';
/** What actually runs the sessions. */
export type ActiveProvider = 'cpu' | 'cuda';
/** One line for a person, emitted once per decision (not per session). */
export type ProviderLogger = (line: string) => void;

export const PROVIDER_SETTINGS: readonly ProviderSetting[] = ['cpu', 'cuda', 'auto'];

/** The setting from FEWSTEP_EP, or 'cpu'. An unknown value is reported, not silently ignored. */
export function providerSettingFromEnv(env: NodeJS.ProcessEnv = process.env, log?: ProviderLogger): ProviderSetting {
  const raw = env.FEWSTEP_EP?.trim().toLowerCase();
  if (raw === undefined || raw === '') return 'cpu';
  if ((PROVIDER_SETTINGS as readonly string[]).includes(raw)) return raw as ProviderSetting;
  log?.(`FEWSTEP_EP=${env.FEWSTEP_EP} is not one of ${PROVIDER_SETTINGS.join(', ')}; using cpu`);
  return 'cpu';
}

export interface CudaAvailability {
  available: boolean;
  reason: string;
}

/**
 * The CPU build of onnxruntime-node lists cuda with bundled: false and lacks the provider
 * library; the CUDA build (ONNXRUNTIME_NODE_INSTALL=cuda12) drops libonnxruntime_providers_cuda
 * beside the binding. Both checks are needed: the list alone says cuda on every linux/x64 build.
 */
export function cudaAvailability(): CudaAvailability {
  const cuda = ort.listSupportedBackends().find((backend) => backend.name === 'cuda');
  if (!cuda) return { available: false, reason: 'this onnxruntime-node build has no CUDA backend' };
  if (cuda.bundled) return { available: true, reason: 'CUDA backend bundled' };
  const library = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  const bindingDir = onnxruntimeBindingDir();
  if (bindingDir && existsSync(path.join(bindingDir, library))) return { available: true, reason: `${library} installed` };
  return { available: false, reason: `${library} is not installed (reinstall onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12)` };
}

function onnxruntimeBindingDir(): string | undefined {
  try {
    const packageJson = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
    return path.join(path.dirname(packageJson), 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return undefined;
  }
}

/** The provider list handed to onnxruntime for a given active provider (CPU always last, for ops CUDA lacks). */
export function executionProvidersFor(active: ActiveProvider): string[] {
  return active === 'cuda' ? ['cuda', 'cpu'] : ['cpu'];
}

/** First choice for a setting before any session is tried: 'auto' and 'cuda' try CUDA where it is installed. */
export function preferredProvider(setting: ProviderSetting, log?: ProviderLogger, availability: () => CudaAvailability = cudaAvailability): ActiveProvider {
  if (setting === 'cpu') return 'cpu';
  const cuda = availability();
  if (cuda.available) return 'cuda';
  // 'auto' on a CPU build is the normal case, not worth a line; an explicit 'cuda' is.
  if (setting === 'cuda') log?.(`CUDA requested but unavailable: ${cuda.reason}; running on CPU`);
  return 'cpu';
}

/**
 * Runs `create` with the preferred provider; when CUDA fails to initialise (driver, library,
 * out of memory), logs one line and retries everything on CPU so the caller sees one provider
 * for all of its sessions, never a mix.
 */
export async function withProviderFallback<T>(
  setting: ProviderSetting,
  create: (provider: ActiveProvider) => Promise<T>,
  log?: ProviderLogger,
  availability: () => CudaAvailability = cudaAvailability, // replaceable so tests can stage a CUDA failure
): Promise<{ value: T; provider: ActiveProvider }> {
  const first = preferredProvider(setting, log, availability);
  if (first === 'cpu') return { value: await create('cpu'), provider: 'cpu' };
  try {
    return { value: await create('cuda'), provider: 'cuda' };
  } catch (error) {
    log?.(`CUDA session creation failed (${(error as Error).message.split('\n')[0]}); running on CPU`);
    return { value: await create('cpu'), provider: 'cpu' };
  }
}
