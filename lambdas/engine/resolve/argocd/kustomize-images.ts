/**
 * Argo CD `spec.source.kustomize.images` entries, written the way `kustomize edit set image` takes
 * them: `[<name>=]<newName>[:<newTag>][@<digest>]`. Without `=`, the entry keeps the name and only
 * changes the tag or digest.
 */
import type { SourceLocation } from '../../model.js';
import type { KustomizeImageOverride } from '../kustomize/render.js';

export function parseArgoKustomizeImage(text: string, location: SourceLocation): KustomizeImageOverride | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const eq = trimmed.indexOf('=');
  const name = eq >= 0 ? trimmed.slice(0, eq) : undefined;
  const spec = eq >= 0 ? trimmed.slice(eq + 1) : trimmed;
  let rest = spec;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let newTag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    newTag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const override: KustomizeImageOverride = { name: name ?? rest, location };
  if (name !== undefined && rest !== '' && rest !== name) override.newName = rest;
  if (newTag) override.newTag = newTag;
  if (digest) override.digest = digest;
  return override.name === '' ? undefined : override;
}
