/**
 * Manifest media types and index parsing. We always accept all four manifest types: without the OCI index type,
 * GHCR and distribution answer 404 `MANIFEST_UNKNOWN` ("OCI index found, but Accept header does not support OCI
 * indexes") for a multi-arch tag, which on HEAD looks exactly like a missing tag.
 */
import * as z from '../zod.js';

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

export const MANIFEST_MEDIA_TYPES = [OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST] as const;
export const MANIFEST_ACCEPT = MANIFEST_MEDIA_TYPES.join(', ');

export function isIndexMediaType(mediaType: string | undefined): boolean {
  const base = mediaType?.split(';')[0]?.trim();
  return base === OCI_INDEX || base === DOCKER_MANIFEST_LIST;
}

const platformSchema = z.object({
  os: z.string(),
  architecture: z.string(),
  variant: z.optional(z.string()),
});

const indexSchema = z.object({
  mediaType: z.optional(z.string()),
  manifests: z.array(
    z.object({
      mediaType: z.optional(z.string()),
      digest: z.optional(z.string()),
      platform: z.optional(platformSchema),
      annotations: z.optional(z.record(z.string(), z.string())),
    }),
  ),
});

/** `os/arch[/variant]` of an index's entries, attestation entries (`unknown/unknown`, attestation annotations) excluded. */
export function parseIndexPlatforms(body: string): string[] | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  const parsed = indexSchema.safeParse(json);
  if (!parsed.success) return undefined;
  const out: string[] = [];
  for (const m of parsed.data.manifests) {
    const p = m.platform;
    if (!p) continue;
    if (p.os === 'unknown' || p.architecture === 'unknown') continue;
    if (m.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') continue;
    const text = p.variant ? `${p.os}/${p.architecture}/${p.variant}` : `${p.os}/${p.architecture}`;
    if (!out.includes(text)) out.push(text);
  }
  return out;
}

/**
 * Whether `wanted` (`linux/amd64`, `linux/arm64/v8`, `linux/arm/v7`) is served by one of `available`.
 * A wanted platform without variant matches any variant; `arm64` with and without `v8` are the same.
 */
export function platformAvailable(wanted: string, available: readonly string[]): boolean {
  const norm = (p: string): [string, string, string] => {
    const [os = '', arch = '', variant = ''] = p.toLowerCase().split('/');
    return [os, arch, arch === 'arm64' && variant === 'v8' ? '' : variant];
  };
  const [wos, warch, wvar] = norm(wanted);
  return available.some((a) => {
    const [os, arch, variant] = norm(a);
    return os === wos && arch === warch && (wvar === '' || variant === wvar);
  });
}
