/**
 * Image overrides that come from outside the repository's kustomizations, merged into the rendered
 * kustomization's own `images:` list the way each tool does it:
 * - Argo CD `spec.source.kustomize.images` runs `kustomize edit set image <arg>...` in the app's
 *   directory: an argument replaces the entry of the same name (`*` keeps the old newName, newTag or
 *   digest), others are appended, and the list is then sorted by name.
 * - Flux Kustomization `spec.images` replaces the entry of the same name in place, or appends (`*` means
 *   nothing special to Flux).
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
  // setimage.go splits on `=` and takes the name=newName form only for exactly two parts
  const eq = arg.split('=').length === 2 ? arg.indexOf('=') : -1;
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

/** The kustomization's `images:` after the overrides are merged in. */
export function mergeImageOverrides(images: ImageTransform[], overrides: ImageOverride[], mode: ImageOverrideMerge): ImageTransform[] {
  if (overrides.length === 0) return images;
  if (mode === 'argocd') return setImages(images, overrides);
  if (mode === 'append') return [...images, ...overrides.map((o) => toTransform(withoutPreserve(o)))];
  // Flux (kustomize-controller generator.go): an entry with the same name is replaced whole, others are appended.
  const result = [...images];
  for (const override of overrides) {
    const index = result.findIndex((image) => image.name === override.name);
    if (index >= 0) result[index] = toTransform(override);
    else result.push(toTransform(override));
  }
  return result;
}

/**
 * `kustomize edit set image <arg>...` (setimage.go): the last argument of a name wins; an argument replaces
 * the kustomization's entry of that name whole, except that `*` keeps that entry's newName, newTag or digest;
 * of the kustomization's own entries with one name, the last one stays; the list is then sorted by name.
 */
function setImages(images: ImageTransform[], overrides: ImageOverride[]): ImageTransform[] {
  const args = new Map<string, { arg: ImageOverride; preservedFrom?: SourceLocation }>();
  for (const override of overrides) args.set(override.name, { arg: override });
  const result = new Map<string, ImageTransform>();
  for (const image of images) {
    const entry = args.get(image.name);
    if (!entry) {
      result.set(image.name, image);
      continue;
    }
    const kept: ImageOverride = { name: entry.arg.name, location: entry.arg.location };
    for (const field of ['newName', 'newTag', 'digest'] as const) {
      const value = entry.arg[field] === PRESERVE ? image[field] : entry.arg[field];
      if (value) kept[field] = value;
      if (entry.arg[field] === PRESERVE && value) entry.preservedFrom = image.location;
    }
    entry.arg = kept;
  }
  for (const { arg, preservedFrom } of args.values()) {
    result.set(arg.name, { ...toTransform(withoutPreserve(arg)), ...(preservedFrom ? { preservedFrom } : {}) });
  }
  return [...result.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** An argument's `*` with no entry to keep a value from stands for nothing. */
function withoutPreserve(override: ImageOverride): ImageOverride {
  const copy: ImageOverride = { name: override.name, location: override.location };
  if (override.newName && override.newName !== PRESERVE) copy.newName = override.newName;
  if (override.newTag && override.newTag !== PRESERVE) copy.newTag = override.newTag;
  if (override.digest && override.digest !== PRESERVE) copy.digest = override.digest;
  return copy;
}
