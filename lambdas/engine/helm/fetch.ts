/** Remote charts: see repository.ts (Helm HTTP repositories) and oci.ts (OCI registries). */
export interface ChartRequest {
  /** Helm repository URL (`https://...`) or OCI base (`oci://host/path`). */
  repoURL: string;
  chart: string;
  /** Exact version or semver range; empty/undefined: the newest. */
  version?: string | undefined;
}

export type FetchedChart =
  | { ok: true; file: string; name: string; version: string; digest: string; cached: boolean }
  | { ok: false; message: string };

export interface ChartFetcher {
  fetch(request: ChartRequest): Promise<FetchedChart>;
}
