/**
 * A fetch whose every connection fails name resolution with ENOTFOUND: the DNS lookup is stubbed in undici's
 * connection layer (`connect.lookup`), so the name never reaches a resolver and no packet leaves the machine. Plays
 * an API host that does not resolve (no egress, air-gapped, GHES down). Records the names it was asked for.
 */
import { Agent, fetch as undiciFetch } from 'undici';

export interface UnresolvableFetch {
  fetch: typeof fetch;
  /** Host names whose lookup was attempted, in order. */
  lookups: string[];
  close(): Promise<void>;
}

export function unresolvableFetch(): UnresolvableFetch {
  const lookups: string[] = [];
  const agent = new Agent({
    connect: {
      lookup: (hostname: string, _options: unknown, callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void) => {
        lookups.push(hostname);
        const err: NodeJS.ErrnoException = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });
        process.nextTick(() => callback(err, '', 4));
      },
    },
  });
  const stubbed = ((url: string, init?: RequestInit) => undiciFetch(url, { ...(init as object), dispatcher: agent })) as unknown as typeof fetch;
  return { fetch: stubbed, lookups, close: () => agent.close() };
}
