import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { extractComposeImages } from '../../../lambdas/engine/extractors/compose/index.js';
import { loadYamlDocuments, type YamlDocument } from '../../../lambdas/engine/yaml/index.js';

function fixture(): YamlDocument {
  const { documents } = loadYamlDocuments('docker-compose.yml', readFileSync('test/extractors/compose/__fixtures__/docker-compose.yml'));
  if (!documents[0]) throw new Error('fixture did not load');
  return documents[0];
}

describe('extractComposeImages', () => {
  it('returns services.*.image with lines, interpolating defaults and keeping unknown variables', () => {
    const { sites } = extractComposeImages(fixture());
    expect(sites).toEqual([
      {
        workload: { kind: 'ComposeService', name: 'auth' },
        container: 'auth-api',
        written: 'ghcr.io/acme/auth-api:dev-latest',
        raw: 'ghcr.io/acme/auth-api:${AUTH_TAG:-dev-latest}',
        location: { file: 'docker-compose.yml', line: 3 },
        path: ['services', 'auth', 'image'],
      },
      {
        workload: { kind: 'ComposeService', name: 'worker' },
        container: 'worker',
        written: 'ghcr.io/acme/worker:${WORKER_TAG}',
        unresolved: ['WORKER_TAG'],
        builds: true,
        location: { file: 'docker-compose.yml', line: 10 },
        path: ['services', 'worker', 'image'],
      },
      {
        workload: { kind: 'ComposeService', name: 'db' },
        container: 'db',
        written: 'postgres:16',
        location: { file: 'docker-compose.yml', line: 12 },
        path: ['services', 'db', 'image'],
      },
    ]);
  });

  it('uses variables passed in env over defaults', () => {
    const { sites } = extractComposeImages(fixture(), { env: { AUTH_TAG: 'v2', WORKER_TAG: '7' } });
    expect(sites.map((s) => s.written)).toEqual(['ghcr.io/acme/auth-api:v2', 'ghcr.io/acme/worker:7', 'postgres:16']);
  });

  it('notes build-only services and reports services it cannot read', () => {
    const { findings, notes } = extractComposeImages(fixture());
    expect(notes).toEqual(['docker-compose.yml: compose service "web" is built from source (build:, no image:); not checked']);
    expect(findings.map((f) => [f.code, f.line, f.message])).toEqual([
      ['INVALID_RESOURCE', 14, 'compose service "broken" has neither image nor build'],
      ['INVALID_RESOURCE', 16, 'compose service "numeric" has an image that is not a string (number)'],
    ]);
  });

  it('gives nothing for documents without services', () => {
    const [doc] = loadYamlDocuments('x.yml', 'version: "3"\n').documents;
    expect(extractComposeImages(doc as YamlDocument)).toEqual({ sites: [], findings: [], notes: [] });
  });
});
