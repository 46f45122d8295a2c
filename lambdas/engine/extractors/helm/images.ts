import type { Finding, SourceLocation, Workload } from '../../model.js';
import { looksLikeRegistryHost } from '../../reference/index.js';
import { isRecord, type Extracted, type ValuePath } from '../types.js';

/** Keys whose values are images by convention (Renovate's helm-values heuristic): `image`, `sidecarImage`, `initImage`... */
const IMAGE_KEY = /image$/i;
const GENERIC_IMAGE_KEY = /^image$/i;
/** Objects nested deeper than this are not walked (values files are shallow; this bounds recursion). */
const MAX_DEPTH = 32;
const TRAILING_SLASHES = /\/+$/;

export interface HelmImageSite {
  /** `{ kind: 'HelmValues', name: <values path, e.g. auth.image> }`. */
  workload: Workload;
  /** The last key of the values path that is not just `image` (`auth` for `auth.image`, `sidecarImage`...). */
  container: string;
  /** The image as a template following the convention would render it. */
  written: string;
  /** Path of the image value (string or object) in the merged values. */
  valuesPath: ValuePath;
  /** Same as `valuesPath`: the field every extractor's sites share. */
  path: ValuePath;
  /** Where the image value is: the `image:` key in the first layer that writes it (with `locateLayers`), else from `locate`. */
  location: SourceLocation;
  /**
   * Every place that contributed (image key, repository, registry, tag, digest, appVersion), deduplicated;
   * base layer first when `locateLayers` is given, else in that order.
   */
  locations: SourceLocation[];
  /** The parts the reference was assembled from (object form only). */
  parts?: { registry?: string; repository: string; tag?: string; digest?: string };
  /** Where the tag came from: the values, the chart's appVersion, or nowhere (the runtime default `latest`). */
  tagFrom?: 'values' | 'appVersion' | 'none';
}

/** A location and the position of its layer in merge order (0 = lowest precedence). */
export interface LayerLocation {
  layer: number;
  location: SourceLocation;
}

interface Contribution {
  layer: number;
  location: SourceLocation | undefined;
}

export interface HelmImageOptions {
  /** Chart appVersion, used when an image object has no tag (the `.Values.image.tag | default .Chart.AppVersion` idiom). */
  appVersion?: string;
  /** Where appVersion is written (Chart.yaml), added to the locations of images that use it. */
  appVersionLocation?: SourceLocation;
  /** Where a path of the merged values is written (the last layer that set it). */
  locate: (valuesPath: ValuePath) => SourceLocation | undefined;
  /**
   * Every layer that sets a path, in merge order (from mergeHelmValueLayers). When given, `locations` run base
   * layer first: the image key where it is first written, then each part from the layer whose value won.
   */
  locateLayers?: (valuesPath: ValuePath) => LayerLocation[];
  /** Used when `locate` knows nothing about a path (e.g. the values file itself, line 0). */
  fallbackLocation?: SourceLocation;
  /** Top-level keys that configure subcharts (dependency names or aliases): their images do not inherit this chart's appVersion. */
  subchartKeys?: readonly string[];
  /** Container name for an image at the root of the values (`image:` with no parent key). Default `image`. */
  chartName?: string;
}

/**
 * Images in Helm values by the usual conventions:
 * - objects under keys ending in `image` (case-insensitive) with a string `repository`, optional `registry`,
 *   `tag` or `version`, `digest`: `[registry/]repository[:tag][@digest]`;
 * - `global.imageRegistry` replaces the registry (Bitnami convention) unless the repository already names a host;
 * - no tag and no digest: the chart's appVersion (except under subchart keys);
 * - non-empty strings under keys ending in `image`.
 * Findings are INVALID_RESOURCE warnings for image objects whose parts are not strings or numbers.
 */
export function extractHelmValuesImages(values: unknown, options: HelmImageOptions): Extracted<HelmImageSite> {
  const sites: HelmImageSite[] = [];
  const findings: Finding[] = [];
  const globalRegistry = globalImageRegistry(values);
  const subchartKeys = new Set(options.subchartKeys ?? []);
  const locate = (path: ValuePath): SourceLocation | undefined => options.locate(path);
  const locateLayers = options.locateLayers;
  /** The image key itself: where it is first written (the base), so locations read base first. */
  const imageNode = (path: ValuePath): Contribution => {
    if (!locateLayers) return { layer: 0, location: locate(path) };
    const first = locateLayers(path)[0];
    return first ? { layer: first.layer, location: first.location } : { layer: 0, location: locate(path) };
  };
  /** A part (repository, tag...): the layer whose value won. */
  const part = (path: ValuePath): Contribution => {
    if (!locateLayers) return { layer: 0, location: locate(path) };
    const last = locateLayers(path).at(-1);
    return last ? { layer: last.layer, location: last.location } : { layer: 0, location: locate(path) };
  };

  const visit = (value: unknown, path: ValuePath, depth: number): void => {
    if (depth > MAX_DEPTH) return;
    const key = path[path.length - 1];
    if (typeof key === 'string' && IMAGE_KEY.test(key)) {
      if (typeof value === 'string') {
        if (value.trim() !== '') sites.push(site(path, value, [part(path)]));
        return;
      }
      if (isRecord(value) && value['repository'] !== undefined && value['repository'] !== null) {
        const built = fromObject(value, path);
        if (built) {
          sites.push(built);
          return;
        }
      }
    }
    if (Array.isArray(value)) value.forEach((item, index) => visit(item, [...path, index], depth + 1));
    else if (isRecord(value)) for (const [child, item] of Object.entries(value)) visit(item, [...path, child], depth + 1);
  };

  const fromObject = (image: Record<string, unknown>, path: ValuePath): HelmImageSite | undefined => {
    const repository = scalarText(image['repository']);
    const tagKey = nonEmpty(scalarText(image['tag'])) !== undefined ? 'tag' : nonEmpty(scalarText(image['version'])) !== undefined ? 'version' : undefined;
    const ownRegistry = scalarText(image['registry']);
    let digest = scalarText(image['digest']);
    const badPart = ['repository', 'registry', 'tag', 'version', 'digest'].find(
      (part) => image[part] !== undefined && image[part] !== null && scalarText(image[part]) === undefined,
    );
    if (badPart !== undefined) {
      const at = locate([...path, badPart]) ?? options.fallbackLocation;
      findings.push({
        file: at?.file ?? '',
        line: at?.line ?? 0,
        code: 'INVALID_RESOURCE',
        message: `Helm values ${dotted(path)}.${badPart} is not a string`,
        severity: 'warning',
      });
      return undefined;
    }
    if (repository === undefined || repository === '') return undefined;

    const contributions: Contribution[] = [imageNode(path), part([...path, 'repository'])];
    const repositoryHasHost = repository.includes('/') && looksLikeRegistryHost(repository.slice(0, repository.indexOf('/')));
    let registry: string | undefined;
    if (!repositoryHasHost) {
      if (globalRegistry) {
        registry = globalRegistry;
        contributions.push(part(['global', 'imageRegistry']));
      } else if (ownRegistry) {
        registry = ownRegistry;
        contributions.push(part([...path, 'registry']));
      }
    }
    let tagFrom: HelmImageSite['tagFrom'] = 'values';
    let effectiveTag = tagKey === undefined ? undefined : scalarText(image[tagKey]);
    if (tagKey !== undefined) contributions.push(part([...path, tagKey]));
    digest = nonEmpty(digest);
    if (digest !== undefined && !digest.includes(':')) digest = `sha256:${digest}`;
    if (digest !== undefined) contributions.push(part([...path, 'digest']));
    if (effectiveTag === undefined && digest === undefined) {
      const underSubchart = typeof path[0] === 'string' && subchartKeys.has(path[0]);
      if (options.appVersion !== undefined && options.appVersion !== '' && !underSubchart) {
        effectiveTag = options.appVersion;
        tagFrom = 'appVersion';
        contributions.push({ layer: -1, location: options.appVersionLocation });
      } else {
        tagFrom = 'none';
      }
    }

    let written = registry ? `${registry.replace(TRAILING_SLASHES, '')}/${repository}` : repository;
    if (effectiveTag !== undefined) written += `:${effectiveTag}`;
    if (digest !== undefined) written += `@${digest}`;
    const parts: NonNullable<HelmImageSite['parts']> = { repository };
    if (registry !== undefined) parts.registry = registry;
    if (effectiveTag !== undefined) parts.tag = effectiveTag;
    if (digest !== undefined) parts.digest = digest;
    const result = site(path, written, contributions);
    result.parts = parts;
    result.tagFrom = tagFrom;
    return result;
  };

  const site = (path: ValuePath, written: string, contributions: Contribution[]): HelmImageSite => {
    const primary = contributions[0]?.location;
    // Stable sort: base layers first when layers are known; the chart's appVersion counts as the base.
    const ordered = locateLayers ? [...contributions].sort((a, b) => a.layer - b.layer) : contributions;
    const locations = uniqueLocations(ordered.map((c) => c.location));
    const location = primary ?? locations[0] ?? options.fallbackLocation ?? { file: '', line: 0 };
    return {
      workload: { kind: 'HelmValues', name: dotted(path) },
      container: containerName(path, options.chartName),
      written,
      valuesPath: path,
      path,
      location,
      locations: locations.length > 0 ? locations : [location],
    };
  };

  visit(values, [], 0);
  return { sites, findings };
}

function globalImageRegistry(values: unknown): string | undefined {
  if (!isRecord(values) || !isRecord(values['global'])) return undefined;
  const registry = values['global']['imageRegistry'];
  return typeof registry === 'string' && registry !== '' ? registry : undefined;
}

/** Strings as they are; numbers and booleans as Helm prints them (`tag: 1.2` renders `1.2`). */
function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function nonEmpty(text: string | undefined): string | undefined {
  return text === '' ? undefined : text;
}

function containerName(path: ValuePath, chartName = 'image'): string {
  for (let i = path.length - 1; i >= 0; i--) {
    const segment = path[i];
    if (typeof segment === 'string' && !GENERIC_IMAGE_KEY.test(segment)) return segment;
  }
  return chartName;
}

/** `auth.image`, `sidecars[0].image`. */
export function dotted(path: ValuePath): string {
  let text = '';
  for (const segment of path) text += typeof segment === 'number' ? `[${segment}]` : text === '' ? segment : `.${segment}`;
  return text;
}

function uniqueLocations(locations: readonly (SourceLocation | undefined)[]): SourceLocation[] {
  const seen = new Set<string>();
  const out: SourceLocation[] = [];
  for (const location of locations) {
    if (!location) continue;
    const key = `${location.file}\0${location.line}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(location);
  }
  return out;
}
