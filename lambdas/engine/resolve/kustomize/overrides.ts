/**
 * Image overrides that come from outside the repository's kustomizations, merged into the rendered
 * kustomization's own `images:` list the way each tool does it:
 * - Argo CD `spec.source.kustomize.images` runs `kustomize edit set image <arg>...` in the app's
 *   directory: an argument replaces the entry of the same name (`*` keeps the old newName, newTag or
 *   digest), others are appended, and the list is then sorted by name.
 * - Flux Kustomization `spec.images` replaces the entry of the same name in place, or appends.
 * - `append` (the default) applies the overrides after the kustomization's own entries.
 */
import type { SourceLocation } from '../../model.js';
import { splitKustomizeImage, type ImageTransform } from './images.js';

export type ImageOverrideMerge = 'append' | 'argocd' | 'flux';

/** kustomize edit set image's "keep the existing value" marker. */
const PRESERVE = '*';

export interface ImageOverride {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
  location: SourceLocation;
}

/**
 * Parses one Argo CD `kustomize.images` entry, which is `kustomize edit set image` syntax:
 * `image:tag`, `image@digest`, `name=newName`, `name=newName:tag`, `name=newName@digest`,
 * `name=*:tag`. Returns undefined for text kustomize rejects (a bare name with no `=`, tag or digest).
 */
export function parseArgoKustomizeImage(text: string, location: SourceLocation = { file: '', line: 0 }): ImageOverride | undefined {
  const arg = text.trim();
  if (arg === '') return undefined;
  const eq = arg.indexOf('=');
  const key = eq >= 0 ? arg.slice(0, eq) : '';
  const value = eq >= 0 ? arg.slice(eq + 1) : arg;
  const { name, tag, digest } = splitKustomizeImage(value);
  if (name === arg || (eq >= 0 && key === '') || name === '') return undefined;
  const override: ImageOverride = { name: key === '' ? name : key, location };
  if (key !== '') override.newName = name;
  if (tag) override.newTag = tag;
  if (digest) override.digest = digest;
  return override;
}

function toTransform(override: ImageOverride): ImageTransform {
  const transform: ImageTransform = { name: override.name, location: override.location };
  if (override.newName) transform.newName = override.newName;
  if (override.newTag) transform.newTag = override.newTag;
  if (override.digest) transform.digest = override.digest;
  return transform;
}

function preserve(value: string | undefined, old: string | undefined): string | undefined {
  return value === PRESERVE ? old : value;
}

/** The kustomization's `images:` after the overrides are merged in. */
export function mergeImageOverrides(images: ImageTransform[], overrides: ImageOverride[], mode: ImageOverrideMerge): ImageTransform[] {
  if (overrides.length === 0) return images;
  if (mode === 'append') return [...images, ...overrides.map((o) => toTransform(clean(o)))];
  const result = [...images];
  for (const override of overrides) {
    const index = result.findIndex((image) => image.name === override.name);
    const existing = index >= 0 ? result[index] : undefined;
    const merged: ImageOverride = { name: override.name, location: override.location };
    const newName = preserve(override.newName, existing?.newName);
    const newTag = preserve(override.newTag, existing?.newTag);
    const digest = preserve(override.digest, existing?.digest);
    if (newName) merged.newName = newName;
    if (newTag) merged.newTag = newTag;
    if (digest) merged.digest = digest;
    if (index >= 0) result[index] = toTransform(merged);
    else result.push(toTransform(merged));
  }
  if (mode === 'argocd') result.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return result;
}

function clean(override: ImageOverride): ImageOverride {
  const copy: ImageOverride = { name: override.name, location: override.location };
  if (override.newName && override.newName !== PRESERVE) copy.newName = override.newName;
  if (override.newTag && override.newTag !== PRESERVE) copy.newTag = override.newTag;
  if (override.digest && override.digest !== PRESERVE) copy.digest = override.digest;
  return copy;
}
