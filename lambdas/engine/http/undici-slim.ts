/**
 * The parts of undici the engine uses (Pool, Agent, `request`), imported from undici's own modules instead of its
 * index. The index also loads fetch, WebSocket, EventSource, the cache stores and the mock agent: half of undici,
 * a third of the Lambda bundle, none of it used here. Same classes, same behaviour; types come from 'undici'.
 * Add an export here (not an import of 'undici' in engine code) when another part of undici is needed.
 */
import type { Dispatcher } from 'undici';
import DispatcherBase from 'undici/lib/dispatcher/dispatcher.js';
import apiRequest from 'undici/lib/api/api-request.js';
import PoolClass from 'undici/lib/dispatcher/pool.js';
import AgentClass from 'undici/lib/dispatcher/agent.js';
import undiciGlobal from 'undici/lib/global.js';

// undici's index adds request/stream/pipeline/upgrade/connect to every dispatcher this way; the engine uses only
// `request` (the others cost 8 KB of the Lambda bundle). Idempotent when the index is loaded too.
Object.assign(DispatcherBase.prototype, { request: apiRequest });

export const Pool = PoolClass;
export type Pool = InstanceType<typeof PoolClass>;
export const Agent = AgentClass;
export type Agent = InstanceType<typeof AgentClass>;
export type { Dispatcher };

/** undici's top-level `request(url, options)`: the given dispatcher, else the global one. */
export function request(url: URL | string, options: { dispatcher?: Dispatcher } & Omit<Dispatcher.RequestOptions, 'origin' | 'path'>): Promise<Dispatcher.ResponseData> {
  const target = typeof url === 'string' ? new URL(url) : url;
  const { dispatcher, ...rest } = options;
  return (dispatcher ?? undiciGlobal.getGlobalDispatcher()).request({ ...rest, origin: target.origin, path: target.pathname + target.search });
}
