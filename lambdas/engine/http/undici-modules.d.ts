// Types for the undici modules that http/undici-slim.ts imports directly (undici ships types for its index only).
declare module 'undici/lib/dispatcher/dispatcher.js' {
  import type { Dispatcher } from 'undici';
  const DispatcherBase: { prototype: Dispatcher };
  export default DispatcherBase;
}
declare module 'undici/lib/api/api-request.js' {
  const request: (...args: unknown[]) => unknown;
  export default request;
}
declare module 'undici/lib/dispatcher/pool.js' {
  import type { Pool } from 'undici';
  const PoolClass: typeof Pool;
  export default PoolClass;
}
declare module 'undici/lib/dispatcher/agent.js' {
  import type { Agent } from 'undici';
  const AgentClass: typeof Agent;
  export default AgentClass;
}
declare module 'undici/lib/global.js' {
  import type { Dispatcher } from 'undici';
  const undiciGlobal: { getGlobalDispatcher(): Dispatcher };
  export default undiciGlobal;
}
