/**
 * Turns rendered images into DesiredImage rows: parses each reference, attaches the app, dedupes
 * identical (app, workload, container, image) rows by merging their locations, and turns invalid or
 * still-templated references into findings at the line that wrote them last.
 */
import type { AppRef, ChartProvenance, DesiredImage, Finding, ParsedReference, PodPullConfig, SourceLocation, Workload } from '../model.js';
import type { ServiceAccountPullSecrets } from '../extractors/kubernetes/index.js';
import { parseImageReference } from '../reference/index.js';

/** One container image as a renderer produced it, before it is attributed to an app. */
export interface RenderedImage {
  workload: Workload;
  container: string;
  /** The reference as the cluster would receive it. */
  written: string;
  /** Base `image:` line first, then every override that changed it. */
  locations: SourceLocation[];
  /** Set when helm rendered it. */
  chart?: ChartProvenance;
  /** The pod spec's ServiceAccount and imagePullSecrets; absent when no pod spec is known (Helm values, compose). */
  pod?: PodPullConfig;
}

export function attribute(
  app: AppRef,
  images: readonly RenderedImage[],
  defaultNamespace?: string,
  parse: (written: string) => ParsedReference = parseImageReference,
): DesiredImage[] {
  return images.map((image) => {
    const reference = parse(image.written);
    const workload =
      image.workload.namespace === undefined && defaultNamespace !== undefined
        ? { ...image.workload, namespace: defaultNamespace }
        : image.workload;
    return {
      image: reference.ok ? reference.ref.canonical : image.written,
      written: image.written,
      reference,
      app,
      workload,
      container: image.container,
      locations: image.locations,
      ...(image.chart ? { chart: image.chart } : {}),
      ...(app.revisionAssumed ? { revisionAssumed: true as const } : {}),
      ...(image.pod ? { pullAccess: { serviceAccount: image.pod.serviceAccount, pullSecrets: [...image.pod.pullSecrets] } } : {}),
    };
  });
}

/**
 * Completes each image's pull access with the imagePullSecrets of its ServiceAccount, when the repository
 * defines that ServiceAccount in the workload's namespace (a ServiceAccount without a namespace matches a
 * workload without one). Images without a known pod spec are left as they are.
 */
export function attachServiceAccounts(images: readonly DesiredImage[], accounts: readonly ServiceAccountPullSecrets[]): DesiredImage[] {
  const byKey = new Map<string, ServiceAccountPullSecrets>();
  for (const account of accounts) {
    const key = `${account.namespace ?? ''}\u0000${account.name}`;
    const seen = byKey.get(key);
    // The same ServiceAccount rendered by several apps: the union of what they give it.
    if (seen) byKey.set(key, { ...seen, pullSecrets: [...new Set([...seen.pullSecrets, ...account.pullSecrets])] });
    else byKey.set(key, account);
  }
  return images.map((image) => {
    if (!image.pullAccess) return image;
    const account = byKey.get(`${image.workload.namespace ?? ''}\u0000${image.pullAccess.serviceAccount}`);
    if (!account) return image;
    return {
      ...image,
      pullAccess: { ...image.pullAccess, serviceAccountSecrets: [...account.pullSecrets], serviceAccountAt: account.location },
    };
  });
}

export function appKey(app: AppRef): string {
  const at = app.definedAt ? `${app.definedAt.file}:${app.definedAt.line}` : (app.path ?? '');
  return `${app.kind}\u0000${app.name}\u0000${at}\u0000${app.revision ?? ''}`;
}

/** Merges rows with the same app, workload, container and image; locations keep their first-seen order. */
export function dedupeDesiredImages(images: readonly DesiredImage[]): DesiredImage[] {
  const rows = new Map<string, DesiredImage>();
  for (const image of images) {
    const { kind, namespace = '', name } = image.workload;
    const key = [appKey(image.app), kind, namespace, name, image.container, image.image].join('\u0000');
    const row = rows.get(key);
    if (!row) {
      rows.set(key, { ...image, locations: uniqueLocations(image.locations) });
    } else {
      row.locations = uniqueLocations([...row.locations, ...image.locations]);
    }
  }
  return [...rows.values()];
}

/** One finding per invalid or unresolved reference and location that wrote it. */
export function referenceFindings(images: readonly DesiredImage[]): Finding[] {
  const findings: Finding[] = [];
  const seen = new Set<string>();
  for (const image of images) {
    if (image.reference.ok) continue;
    const at = image.locations[image.locations.length - 1];
    if (!at) continue;
    const key = `${at.file}:${at.line}:${image.written}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const { code, reason, suggestion } = image.reference.problem;
    findings.push({
      file: at.file,
      line: at.line,
      code,
      severity: code === 'INVALID_REFERENCE' ? 'error' : 'warning',
      message: `image "${image.written}" (${image.container} in ${image.workload.kind}/${image.workload.name}, app ${image.app.name}): ${reason}`,
      ...(suggestion ? { hint: `Did you mean ${suggestion}?` } : {}),
    });
  }
  return findings;
}

export function uniqueLocations(locations: readonly SourceLocation[]): SourceLocation[] {
  const seen = new Set<string>();
  const kept = locations.filter((location) => {
    const key = `${location.file}:${location.line}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  // filter() leaves room for 16 more; every image row keeps its list for the whole run, so keep it exact.
  return kept.slice();
}

export function dedupeFindings(findings: readonly Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((finding) => {
    const key = `${finding.file}:${finding.line}:${finding.code}:${finding.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
