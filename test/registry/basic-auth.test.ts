import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImageChecker, parseImageReference } from '../../lambdas/engine/diagnose/index.js';
import { RegistryCredentials, makeCredential } from '../../lambdas/engine/registry/credentials.js';
import type { ExchangeEvent } from '../../lambdas/engine/registry/transport.js';
import type { ImageReference } from '../../lambdas/engine/model.js';
import { startLocalRegistry, type LocalRegistry } from '../support/registry.js';

let registry: LocalRegistry;

beforeAll(async () => {
  registry = await startLocalRegistry({ auth: 'htpasswd', users: { alice: 'wonderland' } });
  await registry.pushImage('team/app', 'v1');
}, 60_000);

afterAll(async () => registry?.stop());

function ref(text: string): ImageReference {
  const p = parseImageReference(text);
  if (!p.ok) throw new Error(text);
  return p.ref;
}

function checker(password?: string, events?: ExchangeEvent[]) {
  return createImageChecker({
    endpoints: { 'registry.example.com': registry.url },
    github: { enabled: false },
    ...(password ? { credentials: new RegistryCredentials({ credentials: [makeCredential({ host: 'registry.example.com', username: 'alice', secret: password })] }) } : {}),
    ...(events ? { onExchange: (e: ExchangeEvent) => events.push(e) } : {}),
  });
}

describe('registries with HTTP Basic (htpasswd)', () => {
  it('pulls with Basic credentials after a Basic challenge and sends no token requests', async () => {
    const events: ExchangeEvent[] = [];
    const results = await checker('wonderland', events).check([ref('registry.example.com/team/app:v1'), ref('registry.example.com/team/app:v2')]);
    expect(results.map((r) => r.status)).toEqual(['OK', 'TAG_MISSING']);
    expect(events.some((e) => e.stage === 'token')).toBe(false);
    expect(results[1]?.evidence.tags?.nearest).toEqual(['v1']);
  });

  it('reports AUTH_FAILED for a wrong password', async () => {
    const [r] = await checker('wrong').check([ref('registry.example.com/team/app:v1')]);
    expect(r?.status).toBe('AUTH_FAILED');
    expect(r?.evidence.authenticated).toMatchObject({ http: 401, code: 'UNAUTHORIZED', stage: 'manifest' });
  });

  it('reports NOT_VISIBLE_ANONYMOUSLY without credentials', async () => {
    const [r] = await checker().check([ref('registry.example.com/team/app:v1')]);
    expect(r?.status).toBe('NOT_VISIBLE_ANONYMOUSLY');
    expect(r?.hint).toMatch(/Configure a credential for registry.example.com/);
  });
});
