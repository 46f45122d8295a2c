import { describe, expect, it } from 'vitest';
import { formatReference, parseImageReference, repositoryOf, splitNameTagDigest } from '../../lambdas/engine/reference/index.js';

const SHA = 'sha256:' + 'a'.repeat(64);

describe('parseImageReference normalises valid references', () => {
  const cases: Array<[string, { registry: string; repository: string; tag?: string; digest?: string; canonical: string }]> = [
    ['nginx', { registry: 'docker.io', repository: 'library/nginx', tag: 'latest', canonical: 'docker.io/library/nginx:latest' }],
    ['nginx:1.27', { registry: 'docker.io', repository: 'library/nginx', tag: '1.27', canonical: 'docker.io/library/nginx:1.27' }],
    ['bitnami/redis:7', { registry: 'docker.io', repository: 'bitnami/redis', tag: '7', canonical: 'docker.io/bitnami/redis:7' }],
    ['docker.io/nginx', { registry: 'docker.io', repository: 'library/nginx', tag: 'latest', canonical: 'docker.io/library/nginx:latest' }],
    ['index.docker.io/library/nginx:1', { registry: 'docker.io', repository: 'library/nginx', tag: '1', canonical: 'docker.io/library/nginx:1' }],
    ['index.docker.io/nginx', { registry: 'docker.io', repository: 'library/nginx', tag: 'latest', canonical: 'docker.io/library/nginx:latest' }],
    ['ghcr.io/acme/auth-api:latest', { registry: 'ghcr.io', repository: 'acme/auth-api', tag: 'latest', canonical: 'ghcr.io/acme/auth-api:latest' }],
    ['ghcr.io/acme/auth-api:dev-latest', { registry: 'ghcr.io', repository: 'acme/auth-api', tag: 'dev-latest', canonical: 'ghcr.io/acme/auth-api:dev-latest' }],
    ['localhost/app', { registry: 'localhost', repository: 'app', tag: 'latest', canonical: 'localhost/app:latest' }],
    ['localhost:5000/team/app:v2', { registry: 'localhost:5000', repository: 'team/app', tag: 'v2', canonical: 'localhost:5000/team/app:v2' }],
    ['registry.example.com:443/a/b/c:1.0.0-rc.1', { registry: 'registry.example.com:443', repository: 'a/b/c', tag: '1.0.0-rc.1', canonical: 'registry.example.com:443/a/b/c:1.0.0-rc.1' }],
    ['[::1]:5000/app:1', { registry: '[::1]:5000', repository: 'app', tag: '1', canonical: '[::1]:5000/app:1' }],
    ['Registry.Example.com/team/app:1', { registry: 'Registry.Example.com', repository: 'team/app', tag: '1', canonical: 'Registry.Example.com/team/app:1' }],
    [`nginx@${SHA}`, { registry: 'docker.io', repository: 'library/nginx', digest: SHA, canonical: `docker.io/library/nginx@${SHA}` }],
    [`ghcr.io/acme/app:v1@${SHA}`, { registry: 'ghcr.io', repository: 'acme/app', tag: 'v1', digest: SHA, canonical: `ghcr.io/acme/app:v1@${SHA}` }],
    ['quay.io/a__b/c.d_e--f:T_1.x-Y', { registry: 'quay.io', repository: 'a__b/c.d_e--f', tag: 'T_1.x-Y', canonical: 'quay.io/a__b/c.d_e--f:T_1.x-Y' }],
    ['app:_underscore', { registry: 'docker.io', repository: 'library/app', tag: '_underscore', canonical: 'docker.io/library/app:_underscore' }],
    [`app@sha512:${'b'.repeat(128)}`, { registry: 'docker.io', repository: 'library/app', digest: `sha512:${'b'.repeat(128)}`, canonical: `docker.io/library/app@sha512:${'b'.repeat(128)}` }],
    [`app@blake3:${'c'.repeat(32)}`, { registry: 'docker.io', repository: 'library/app', digest: `blake3:${'c'.repeat(32)}`, canonical: `docker.io/library/app@blake3:${'c'.repeat(32)}` }],
    [`app:${'t'.repeat(128)}`, { registry: 'docker.io', repository: 'library/app', tag: 't'.repeat(128), canonical: `docker.io/library/app:${'t'.repeat(128)}` }],
  ];

  it.each(cases)('%s', (text, expected) => {
    const parsed = parseImageReference(text);
    expect(parsed).toEqual({ ok: true, ref: expected });
  });

  it('adds latest only when neither tag nor digest is written', () => {
    const digestOnly = parseImageReference(`ghcr.io/acme/app@${SHA}`);
    expect(digestOnly.ok && digestOnly.ref.tag).toBe(undefined);
    const bare = parseImageReference('ghcr.io/acme/app');
    expect(bare.ok && bare.ref.tag).toBe('latest');
  });

  it('keeps the registry host case as written while the repository must be lower case', () => {
    const parsed = parseImageReference('GHCR.IO/acme/app:1');
    expect(parsed.ok && parsed.ref.registry).toBe('GHCR.IO');
  });
});

describe('parseImageReference rejects invalid references with a reason and a suggestion', () => {
  const cases: Array<[string, string, { code: string; reason: RegExp; suggestion?: string }]> = [
    ['empty string', '', { code: 'INVALID_REFERENCE', reason: /empty/ }],
    ['only whitespace', '   ', { code: 'INVALID_REFERENCE', reason: /only whitespace/ }],
    ['trailing whitespace', 'nginx:1 ', { code: 'INVALID_REFERENCE', reason: /leading or trailing whitespace/, suggestion: 'nginx:1' }],
    ['leading newline', '\nghcr.io/acme/app', { code: 'INVALID_REFERENCE', reason: /whitespace/, suggestion: 'ghcr.io/acme/app' }],
    ['inner whitespace', 'ghcr.io/acme/my app:1', { code: 'INVALID_REFERENCE', reason: /contains whitespace/ }],
    ['upper case owner and name', 'ghcr.io/SeSACTHON/Auth-API:latest', { code: 'INVALID_REFERENCE', reason: /upper case \(SeSACTHON\/Auth-API\)/, suggestion: 'ghcr.io/sesacthon/auth-api:latest' }],
    ['upper case Docker Hub namespace', 'Acme/app:1', { code: 'INVALID_REFERENCE', reason: /upper case \(Acme\/app\)/, suggestion: 'acme/app:1' }],
    ['upper case official image', 'NGINX', { code: 'INVALID_REFERENCE', reason: /upper case \(NGINX\)/, suggestion: 'nginx' }],
    ['upper case with digest', `ghcr.io/Acme/app@${SHA}`, { code: 'INVALID_REFERENCE', reason: /upper case/, suggestion: `ghcr.io/acme/app@${SHA}` }],
    ['tag holding a whole reference (kustomize newTag)', 'auth-api:docker.io/acme/auth-api:1.2', { code: 'INVALID_REFERENCE', reason: /holds a whole image reference.*newName/, suggestion: 'docker.io/acme/auth-api:1.2' }],
    ['tag holding a ghcr reference', 'ghcr.io/acme/auth-api:ghcr.io/acme/auth-api:dev', { code: 'INVALID_REFERENCE', reason: /holds a whole image reference/, suggestion: 'ghcr.io/acme/auth-api:dev' }],
    ['tag with a slash', 'app:feature/login', { code: 'INVALID_REFERENCE', reason: /"feature\/login" holds a whole image reference, not a tag$/ }],
    ['empty tag', 'nginx:', { code: 'INVALID_REFERENCE', reason: /empty tag/, suggestion: 'nginx' }],
    ['empty tag before digest', `nginx:@${SHA}`, { code: 'INVALID_REFERENCE', reason: /empty tag/, suggestion: `nginx@${SHA}` }],
    ['tag over 128 characters', `app:${'t'.repeat(129)}`, { code: 'INVALID_REFERENCE', reason: /129 characters; the limit is 128/ }],
    ['tag starting with a dot', 'app:.hidden', { code: 'INVALID_REFERENCE', reason: /must start with/ }],
    ['tag with a plus', 'app:1.0+build', { code: 'INVALID_REFERENCE', reason: /contains "\+"/ }],
    ['digest without algorithm', `app@${'a'.repeat(64)}`, { code: 'INVALID_REFERENCE', reason: /no algorithm/, suggestion: `app@${SHA}` }],
    ['short sha256', 'app@sha256:abc123', { code: 'INVALID_REFERENCE', reason: /6 hex characters; it must have 64/ }],
    ['non-hex sha256', `app@sha256:${'z'.repeat(64)}`, { code: 'INVALID_REFERENCE', reason: /not hexadecimal/ }],
    ['upper-case sha256', `app@sha256:${'A'.repeat(64)}`, { code: 'INVALID_REFERENCE', reason: /lower-case hex/, suggestion: `app@${SHA}` }],
    ['unknown algorithm too short', 'app@md5:abcd', { code: 'INVALID_REFERENCE', reason: /at least 32/ }],
    ['bad algorithm', `app@SHA256:${'a'.repeat(64)}`, { code: 'INVALID_REFERENCE', reason: /algorithm "SHA256"/ }],
    ['empty digest', 'app@', { code: 'INVALID_REFERENCE', reason: /empty digest/ }],
    ['two digests', `app@${SHA}@${SHA}`, { code: 'INVALID_REFERENCE', reason: /more than one '@'/ }],
    ['missing name', ':latest', { code: 'INVALID_REFERENCE', reason: /no repository name/ }],
    ['double slash', 'ghcr.io/acme//app', { code: 'INVALID_REFERENCE', reason: /empty path component/ }],
    ['trailing slash', 'ghcr.io/acme/', { code: 'INVALID_REFERENCE', reason: /empty path component/ }],
    ['bad character in path', 'ghcr.io/acme/app!:1', { code: 'INVALID_REFERENCE', reason: /contains "!"/ }],
    ['component ending in a dash', 'ghcr.io/acme/app-:1', { code: 'INVALID_REFERENCE', reason: /path component "app-"/ }],
    ['bad registry host', 'bad_host.example.com/app', { code: 'INVALID_REFERENCE', reason: /invalid registry host/ }],
    ['name over 255 characters', `ghcr.io/acme/${'a'.repeat(250)}`, { code: 'INVALID_REFERENCE', reason: /263 characters; the limit is 255/ }],
    ['helm template', '{{ .Values.image.repository }}:{{ .Values.image.tag }}', { code: 'UNRESOLVED_TEMPLATE', reason: /"\{\{ \.Values\.image\.repository \}\}"/ }],
    ['applicationset template', 'ghcr.io/acme/{{name}}:1', { code: 'UNRESOLVED_TEMPLATE', reason: /"\{\{name\}\}"/ }],
    ['shell variable', 'ghcr.io/acme/app:${TAG}', { code: 'UNRESOLVED_TEMPLATE', reason: /"\$\{TAG\}"/ }],
    ['kubernetes dependent variable', 'ghcr.io/acme/app:$(IMAGE_TAG)', { code: 'UNRESOLVED_TEMPLATE', reason: /"\$\(IMAGE_TAG\)"/ }],
    ['bare shell variable', 'ghcr.io/acme/app:$TAG', { code: 'UNRESOLVED_TEMPLATE', reason: /"\$TAG"/ }],
    ['digest written as a tag (kustomize newTag)', `ghcr.io/acme/app:${SHA}`, { code: 'INVALID_REFERENCE', reason: /is a digest; a digest follows '@'/, suggestion: `ghcr.io/acme/app@${SHA}` }],
    ['half-open template', 'ghcr.io/acme/app:{{ .Values.tag', { code: 'UNRESOLVED_TEMPLATE', reason: /unresolved template/ }],
  ];

  it.each(cases)('%s', (_label, text, expected) => {
    const parsed = parseImageReference(text);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problem.code).toBe(expected.code);
    expect(parsed.problem.reason).toMatch(expected.reason);
    expect(parsed.problem.suggestion).toBe(expected.suggestion);
  });

  it('every suggestion it makes parses', () => {
    for (const [, text] of cases) {
      const parsed = parseImageReference(text);
      if (!parsed.ok && parsed.problem.suggestion !== undefined) {
        expect(parseImageReference(parsed.problem.suggestion).ok, parsed.problem.suggestion).toBe(true);
      }
    }
  });

  it('reports a value that is not a string instead of throwing', () => {
    const parsed = parseImageReference(42 as unknown as string);
    expect(parsed).toEqual({ ok: false, problem: { code: 'INVALID_REFERENCE', reason: 'image is not a string (number)' } });
  });
});

describe('splitNameTagDigest keeps the name as written', () => {
  const cases: Array<[string, ReturnType<typeof splitNameTagDigest>]> = [
    ['nginx', { name: 'nginx' }],
    ['nginx:1', { name: 'nginx', tag: '1' }],
    ['nginx:', { name: 'nginx', tag: '' }],
    ['localhost:5000/app', { name: 'localhost:5000/app' }],
    ['localhost:5000/app:v1', { name: 'localhost:5000/app', tag: 'v1' }],
    [`ghcr.io/acme/app:v1@${SHA}`, { name: 'ghcr.io/acme/app', tag: 'v1', digest: SHA }],
    [`ghcr.io/acme/app@${SHA}`, { name: 'ghcr.io/acme/app', digest: SHA }],
    ['app:docker.io/x/y:1', { name: 'app', tag: 'docker.io/x/y:1' }],
    ['localhost:5000', { name: 'localhost', tag: '5000' }],
  ];
  it.each(cases)('%s', (text, expected) => {
    expect(splitNameTagDigest(text)).toEqual(expected);
  });
});

describe('formatReference and repositoryOf', () => {
  it('formats registry/repository[:tag][@digest]', () => {
    expect(formatReference({ registry: 'ghcr.io', repository: 'a/b' })).toBe('ghcr.io/a/b');
    expect(formatReference({ registry: 'ghcr.io', repository: 'a/b', tag: 't', digest: SHA })).toBe(`ghcr.io/a/b:t@${SHA}`);
    expect(repositoryOf({ registry: 'docker.io', repository: 'library/nginx' })).toBe('docker.io/library/nginx');
  });

  it('round-trips: a canonical form parses to itself', () => {
    for (const text of ['nginx', `ghcr.io/acme/app:v1@${SHA}`, 'localhost:5000/x/y:z']) {
      const first = parseImageReference(text);
      if (!first.ok) throw new Error(first.problem.reason);
      const second = parseImageReference(first.ref.canonical);
      expect(second).toEqual(first);
    }
  });
});
