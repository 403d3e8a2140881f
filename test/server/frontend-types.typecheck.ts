/**
 * A type-level test, checked by `tsc --noEmit` (test/typecheck.test.ts runs it): the JSON fewstep
 * serves, typed where the server builds it, must fit the types of ComfyUI's frontend
 * (@comfyorg/comfyui-frontend-types 1.45.0), not our reading of them. Nothing here runs.
 * Types the package does not export by name are reached through the ComfyApi methods that return
 * them, or through ComfyApi.dispatchCustomEvent for the websocket messages.
 */
import type { ComfyApi, ComfyNodeDef, Settings, SystemStats, User, UserDataFullInfo } from '@comfyorg/comfyui-frontend-types';
import type { ObjectInfoEntry } from '../../engine/index.ts';
import type * as Wire from '../../server/comfy-wire.ts';
import type { JobDetail, JobListItem, JobsPage } from '../../server/jobs.ts';
import type { ProgressStateMessage } from '../../server/progress-state.ts';
import type { ModelFileJson, ModelFolderJson, TemplateIndexEntry } from '../../server/routes/frontend.ts';
import type { SystemStatsJson } from '../../server/routes/info.ts';
import type { UsersJson } from '../../server/routes/userdata.ts';
import type { UserFileInfo } from '../../server/user-files.ts';

/** Compiles only when a value of type `Served` can be used where the frontend expects `Expected`. */
function fits<Expected>(_served: Expected): void {}
const served = <T>(): T => undefined as T;

type Returned<K extends keyof ComfyApi> = ComfyApi[K] extends (...args: never[]) => Promise<infer R> ? R : never;
type FrontendJob = Returned<'getHistory'>[number];
type FrontendJobDetail = NonNullable<Returned<'getJobDetail'>>;

// GET /api/jobs and /api/jobs/{id}
fits<FrontendJob>(served<JobListItem>());
fits<FrontendJobDetail>(served<JobDetail>());
fits<FrontendJob[]>(served<JobsPage['jobs']>());
// GET /system_stats, /users, /settings, /userdata?full_info=true
fits<SystemStats>(served<SystemStatsJson>());
fits<User>(served<UsersJson>());
fits<UserDataFullInfo>(served<UserFileInfo>());
fits<Record<string, unknown>>(served<Settings>()); // what the frontend stores, fewstep keeps
// GET /object_info
fits<ComfyNodeDef>(served<ObjectInfoEntry>());
fits<Returned<'getNodeDefs'>>(served<Record<string, ObjectInfoEntry>>());
// GET /templates/index.json, /workflow_templates, /experiment/models[/{folder}]
fits<Returned<'getCoreWorkflowTemplates'>>(served<TemplateIndexEntry[]>());
fits<Returned<'getWorkflowTemplates'>>(served<Record<string, string[]>>());
fits<Returned<'getModelFolders'>>(served<ModelFolderJson[]>());
fits<Returned<'getModels'>>(served<ModelFileJson[]>());

// Websocket messages, as the frontend's api dispatches them.
declare const api: ComfyApi;
api.dispatchCustomEvent('progress_state', served<ProgressStateMessage>());
api.dispatchCustomEvent('execution_start', served<Wire.ExecutionStartMessage>());
api.dispatchCustomEvent('execution_cached', served<Wire.ExecutionCachedMessage>());
api.dispatchCustomEvent('execution_success', served<Wire.ExecutionSuccessMessage>());
api.dispatchCustomEvent('execution_error', served<Wire.ExecutionErrorMessage>());
api.dispatchCustomEvent('executed', served<Wire.ExecutedMessage>());
api.dispatchCustomEvent('progress', served<Wire.ProgressMessage>());
api.dispatchCustomEvent('status', served<Wire.StatusMessage['status']>());
api.dispatchCustomEvent('feature_flags', served<Record<string, unknown>>());

// The checks above are not vacuous: the frontend's types refuse shapes that do not fit.
// @ts-expect-error a job needs a status and a create_time
fits<FrontendJob>({ id: 'x' });
// @ts-expect-error system_stats needs python_version, pytorch_version, argv, ...
fits<SystemStats>({ system: { os: 'linux' }, devices: [] });
// @ts-expect-error a node definition's output_node is a boolean (its inputs accept any [TYPE, options])
fits<ComfyNodeDef>({ ...served<ObjectInfoEntry>(), output_node: 'yes' });
// @ts-expect-error progress_state nodes carry a state
api.dispatchCustomEvent('progress_state', { prompt_id: 'p', nodes: { '1': { value: 0, max: 1, node_id: '1', prompt_id: 'p' } } });
