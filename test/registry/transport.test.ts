import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Transport, type ExchangeEvent } from '../../lambdas/engine/registry/transport.js';

let server: Server;
let base: string;
let remaining = 100;

beforeAll(async () => {
  server = createServer((req, res) => {
    res.writeHead(200, { 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': `${remaining};w=21600` });
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('Docker Hub rate-limit headers', () => {
  it('slows down once ratelimit-remaining falls to the low watermark, and says so', async () => {
    const events: ExchangeEvent[] = [];
    const t = new Transport({ rateLimitLowWatermark: 5, slowdownMs: 1, onExchange: (e) => events.push(e) });
    const send = () => t.send({ method: 'HEAD', url: new URL('/v2/library/nginx/manifests/latest', base), stage: 'manifest', registryHost: 'docker.io' });
    remaining = 50;
    await send();
    expect(events.some((e) => e.note?.startsWith('ratelimit-remaining'))).toBe(false);
    remaining = 3;
    await send();
    await send();
    await t.close();
    const notes = events.filter((e) => e.note?.startsWith('ratelimit-remaining'));
    expect(notes).toHaveLength(1);
    expect(notes[0]?.note).toMatch(/^ratelimit-remaining 3: slowing down/);
  });
});

describe('connections', () => {
  it('keeps the connection alive across manifest HEADs (undici closes after every HEAD unless told not to)', async () => {
    let connections = 0;
    const counted = (socket: unknown) => {
      if (socket) connections++;
    };
    server.on('connection', counted);
    try {
      const t = new Transport();
      for (let i = 0; i < 5; i++) {
        const res = await t.send({ method: 'HEAD', url: new URL(`/v2/acme/web/manifests/v${i}`, base), stage: 'manifest', registryHost: 'ghcr.io' });
        expect(res.status).toBe(200);
      }
      await t.close();
      expect(connections).toBe(1);
    } finally {
      server.off('connection', counted);
    }
  });
});
