import { describe, expect, it } from 'vitest';
import { isImageMatched, parseArgoKustomizeImage, splitKustomizeImage, transformImage } from '../../../lambdas/engine/resolve/kustomize/index.js';

const here = { file: 'k.yaml', line: 3 };

describe('splitKustomizeImage (kustomize image.Split)', () => {
  it('splits name, tag and digest, and does not take a registry port for a tag', () => {
    expect(splitKustomizeImage('nginx')).toEqual({ name: 'nginx', tag: '', digest: '' });
    expect(splitKustomizeImage('nginx:1.27')).toEqual({ name: 'nginx', tag: '1.27', digest: '' });
    expect(splitKustomizeImage('localhost:5000/app')).toEqual({ name: 'localhost:5000/app', tag: '', digest: '' });
    expect(splitKustomizeImage('localhost:5000/app:v1')).toEqual({ name: 'localhost:5000/app', tag: 'v1', digest: '' });
    expect(splitKustomizeImage('ghcr.io/a/b@sha256:abc')).toEqual({ name: 'ghcr.io/a/b', tag: '', digest: 'sha256:abc' });
    expect(splitKustomizeImage('ghcr.io/a/b:1@sha256:abc')).toEqual({ name: 'ghcr.io/a/b', tag: '1', digest: 'sha256:abc' });
  });
});

describe('isImageMatched (kustomize image.IsImageMatched)', () => {
  it('matches the whole name with any tag or sha256 digest, and nothing longer', () => {
    expect(isImageMatched('nginx', 'nginx')).toBe(true);
    expect(isImageMatched('nginx:1.27@sha256:ab12', 'nginx')).toBe(true);
    expect(isImageMatched('library/nginx:1', 'nginx')).toBe(false);
    expect(isImageMatched('nginx-extra:1', 'nginx')).toBe(false);
    expect(isImageMatched('nginx@sha512:ab', 'nginx')).toBe(false);
  });

  it('treats the name as a regular expression, as kustomize does, and an invalid one as matching nothing', () => {
    expect(isImageMatched('ghcrXio/acme/api:1', 'ghcr.io/acme/api')).toBe(true);
    expect(isImageMatched('anything:1', '(')).toBe(false);
  });
});

describe('transformImage (kustomize imageTagUpdater)', () => {
  it('gives newName, newTag, digest, both, and tagSuffix their kustomize v5.5 meaning', () => {
    expect(transformImage('a/b:1@sha256:00', { name: 'a/b', newName: 'c/d', location: here })).toBe('c/d:1@sha256:00');
    expect(transformImage('a/b:1@sha256:00', { name: 'a/b', newTag: '2', location: here })).toBe('a/b:2');
    expect(transformImage('a/b:1', { name: 'a/b', digest: 'sha256:11', location: here })).toBe('a/b@sha256:11');
    expect(transformImage('a/b:1', { name: 'a/b', newTag: '2', digest: 'sha256:11', location: here })).toBe('a/b:2@sha256:11');
    expect(transformImage('a/b:1', { name: 'a/b', tagSuffix: '-debug', location: here })).toBe('a/b:1-debug');
    expect(transformImage('x/y:1', { name: 'a/b', newTag: '2', location: here })).toBeUndefined();
  });
});

describe('parseArgoKustomizeImage (Argo CD kustomize.images, kustomize edit set image syntax)', () => {
  it('reads image:tag as a new tag for that name', () => {
    expect(parseArgoKustomizeImage('ghcr.io/acme/api:1.2.3', here)).toEqual({ name: 'ghcr.io/acme/api', newTag: '1.2.3', location: here });
  });

  it('reads name=image:tag as a new name and tag', () => {
    expect(parseArgoKustomizeImage('api=ghcr.io/acme/api:1.2.3')).toEqual({ name: 'api', newName: 'ghcr.io/acme/api', newTag: '1.2.3', location: { file: '', line: 0 } });
  });

  it('reads digests, registry ports and the * that keeps an existing value', () => {
    expect(parseArgoKustomizeImage('api=registry:5000/acme/api@sha256:ab', here)).toEqual({ name: 'api', newName: 'registry:5000/acme/api', digest: 'sha256:ab', location: here });
    expect(parseArgoKustomizeImage('api=*:2.0', here)).toEqual({ name: 'api', newName: '*', newTag: '2.0', location: here });
    expect(parseArgoKustomizeImage('api=ghcr.io/acme/api', here)).toEqual({ name: 'api', newName: 'ghcr.io/acme/api', location: here });
  });

  it('refuses what kustomize edit set image refuses: a bare name, an empty name, empty text', () => {
    expect(parseArgoKustomizeImage('nginx', here)).toBeUndefined();
    expect(parseArgoKustomizeImage('=nginx:1', here)).toBeUndefined();
    expect(parseArgoKustomizeImage('  ', here)).toBeUndefined();
  });

  it('reads text with more than one = as kustomize does: as a whole, which needs a tag or digest', () => {
    expect(parseArgoKustomizeImage('a=b=c', here)).toBeUndefined();
    expect(parseArgoKustomizeImage('a=b=c:1', here)).toEqual({ name: 'a=b=c', newTag: '1', location: here });
  });
});
