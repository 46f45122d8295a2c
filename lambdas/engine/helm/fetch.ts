/**
 * Remote charts, fetched by us (never by helm): Helm HTTP repositories (`index.yaml`, then the chart's
 * `.tgz`) and OCI registries (manifest, then the `application/vnd.cncf.helm.chart.content.v1.tar+gzip`
 * layer), through the registry client of the chart's host, so its credentials and endpoint mapping apply
 * and a credential only ever goes to the host it was configured for.
 *
 * Cache (content-addressed): `<cacheDir>/blobs/sha256/<hex>` holds each chart archive once; `refs/`
 * maps (source, chart, version) to a digest. An exact version is resolved once and never again (chart
 * versions are immutable by Helm's rules); a range is resolved again after `rangeMaxAgeMs`, except
 * offline, where the last resolution is used. A warm cache renders with no request at all.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import jsYaml from 'js-yaml';
import validVersion from 'semver/functions/valid.js';
import maxSatisfying from 'semver/ranges/max-satisfying.js';
import { Agent, request, type Dispatcher } from '../http/undici-slim.js';
import type { OutboundPolicy } from '../registry/outbound.js';
import type { RegistryClient } from '../registry/client.js';
import { LoadBudget, truncatesSource } from '../sources/relevance.js';
import { extractArchive } from '../sources/tarball.js';

export interface ChartRequest {
  /** Helm repository URL (`https://...`), or an OCI repository (`oci://host/path`, the chart's parent). */
  repoURL: string;
  chart: string;
  /** Exact version or semver range; empty or undefined: the newest release. */
  version?: string | undefined;
}

export interface FetchedChart {
  ok: true;
  name: string;
  version: string;
  digest: string;
  /** `<repoURL>/<chart>@<version>`: how locations name the chart's files. */
  display: string;
  /** The chart's files, relative to its root (the archive's top directory stripped). */
  files: Map<string, Buffer>;
  /** True when no network request was needed. */
  cached: boolean;
}

export type ChartFetchResult = FetchedChart | { ok: false; message: string };

export interface ChartFetcher {
  fetch(request: ChartRequest): Promise<ChartFetchResult>;
  readonly stats: ChartFetchStats;
}

export interface ChartFetchStats {
  fetches: number;
  /** Fetches answered from the cache with no request. */
  hits: number;
  /** HTTP requests sent (index, archive, manifest, tags, token). */
  requests: number;
}

export interface ChartFetcherOptions {
  cacheDir: string;
  /** Use only what the cache holds. */
  offline?: boolean;
  /** The registry client of an OCI host (credentials and endpoint mapping); anonymous when it has none. */
  registryClient?: (host: string) => RegistryClient;
  maxChartBytes?: number;
  maxIndexBytes?: number;
  requestTimeoutMs?: number;
  rangeMaxAgeMs?: number;
  /** For tests: an undici dispatcher. */
  dispatcher?: Dispatcher;
  /**
   * The outbound policy (registry/outbound.ts): chart repository URLs come from manifests, so every index, archive
   * and redirect URL is decided before a connection, and the connection goes to an address the policy checked.
   * The OCI path is decided by the registry clients' transport (give them the same policy).
   */
  outbound?: OutboundPolicy;
}

export const DEFAULT_MAX_CHART_ARCHIVE_BYTES = 10 * 1024 * 1024;
export const DEFAULT_MAX_INDEX_BYTES = 32 * 1024 * 1024;
const HELM_CHART_LAYER = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const MAX_REDIRECTS = 3;

interface CachedRef {
  digest: string;
  name: string;
  version: string;
  resolvedAt: number;
}

class FetchError extends Error {}

export function createChartFetcher(options: ChartFetcherOptions): ChartFetcher {
  const stats: ChartFetchStats = { fetches: 0, hits: 0, requests: 0 };
  const maxChart = options.maxChartBytes ?? DEFAULT_MAX_CHART_ARCHIVE_BYTES;
  const inFlight = new Map<string, Promise<ChartFetchResult>>();

  const refFile = (key: string) => join(options.cacheDir, 'refs', `${sha256(key)}.json`);
  const blobFile = (digest: string) => join(options.cacheDir, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));

  async function readRef(key: string): Promise<CachedRef | undefined> {
    try {
      const parsed: unknown = JSON.parse(await readFile(refFile(key), 'utf8'));
      if (typeof parsed !== 'object' || parsed === null) return undefined;
      const { digest, name, version, resolvedAt } = parsed as Record<string, unknown>;
      if (typeof digest !== 'string' || typeof name !== 'string' || typeof version !== 'string' || typeof resolvedAt !== 'number') return undefined;
      return { digest, name, version, resolvedAt };
    } catch {
      return undefined;
    }
  }

  async function writeAtomically(file: string, content: Buffer | string): Promise<void> {
    await mkdir(join(file, '..'), { recursive: true });
    const partial = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.partial`;
    await writeFile(partial, content);
    await rename(partial, file);
  }

  async function readBlob(digest: string): Promise<Buffer | undefined> {
    try {
      const file = blobFile(digest);
      if (!(await stat(file)).isFile()) return undefined;
      const content = await readFile(file);
      return `sha256:${sha256(content)}` === digest ? content : undefined;
    } catch {
      return undefined;
    }
  }

  async function storeBlob(content: Buffer, expected?: string): Promise<string> {
    const digest = `sha256:${sha256(content)}`;
    if (expected !== undefined && expected !== digest) throw new FetchError(`the chart archive's digest is ${digest}, not the ${expected} its source announced`);
    await writeAtomically(blobFile(digest), content);
    return digest;
  }

  /** One agent per policy standing: its connector resolves through the policy's checked lookup. */
  const agents = new Map<boolean, Dispatcher>();
  function dispatcherFor(listed: boolean): Dispatcher | undefined {
    if (options.dispatcher) return options.dispatcher;
    const policy = options.outbound;
    if (!policy) return undefined;
    let agent = agents.get(listed);
    if (!agent) {
      agent = new Agent({ connect: { lookup: policy.lookup(listed) } });
      agents.set(listed, agent);
    }
    return agent;
  }

  /** The policy's decision on a URL before anything is sent; a refusal is a FetchError that names the reason. */
  async function decide(url: URL, what: string, endpoint: URL | undefined): Promise<boolean> {
    const policy = options.outbound;
    if (!policy) return false;
    let decision;
    try {
      decision = await policy.decide(url, endpoint);
    } catch (error) {
      throw new FetchError(`${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (!decision.allowed) throw new FetchError(`${what}: ${url.host} is not allowed by the outbound policy: ${decision.reason}`);
    return decision.listed;
  }

  /** One GET, every hop decided by the outbound policy, redirects followed without any credential beyond the first origin, body capped. */
  async function get(url: URL, headers: Record<string, string>, cap: number, what: string, endpoint?: URL): Promise<Buffer> {
    let current = url;
    let sent = headers;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const listed = await decide(current, what, endpoint);
      stats.requests++;
      let res: Dispatcher.ResponseData;
      try {
        const dispatcher = dispatcherFor(listed);
        res = await request(current, {
          method: 'GET',
          headers: sent,
          headersTimeout: options.requestTimeoutMs ?? 15_000,
          bodyTimeout: options.requestTimeoutMs ?? 15_000,
          ...(dispatcher ? { dispatcher } : {}),
        });
      } catch (error) {
        throw new FetchError(`${what}: ${current.origin} cannot be reached (${error instanceof Error ? error.message : String(error)})`);
      }
      if (res.statusCode >= 300 && res.statusCode < 400 && typeof res.headers.location === 'string') {
        await res.body.dump();
        const next = new URL(res.headers.location, current);
        if (next.protocol !== 'https:' && next.protocol !== 'http:') throw new FetchError(`${what}: redirected to ${next.protocol} URL`);
        // A credential belongs to its origin: a redirect elsewhere (blob storage) gets none.
        if (next.origin !== current.origin) sent = Object.fromEntries(Object.entries(sent).filter(([key]) => key.toLowerCase() !== 'authorization'));
        current = next;
        continue;
      }
      if (res.statusCode !== 200) {
        await res.body.dump();
        throw new FetchError(`${what}: ${current.origin}${current.pathname} answered HTTP ${res.statusCode}`);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > cap) {
          res.body.destroy();
          throw new FetchError(`${what} is larger than the ${cap}-byte cap`);
        }
        chunks.push(chunk as Buffer);
      }
      return Buffer.concat(chunks);
    }
    throw new FetchError(`${what}: more than ${MAX_REDIRECTS} redirects`);
  }

  /** A repository's index.yaml, read once per fetcher (one run) however many of its charts are installed. */
  const indexes = new Map<string, Promise<unknown>>();
  function repositoryIndex(req: ChartRequest, base: URL): Promise<unknown> {
    let pending = indexes.get(base.href);
    if (!pending) {
      pending = get(new URL('index.yaml', base), {}, options.maxIndexBytes ?? DEFAULT_MAX_INDEX_BYTES, `index.yaml of ${req.repoURL}`).then((body) => {
        try {
          return jsYaml.load(body.toString('utf8'), { schema: jsYaml.JSON_SCHEMA });
        } catch (error) {
          throw new FetchError(`index.yaml of ${req.repoURL} is not valid YAML (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`);
        }
      });
      indexes.set(base.href, pending);
    }
    return pending;
  }

  /** Helm HTTP repository: index.yaml, the newest entry matching the version, its archive. */
  async function fromHelmRepository(req: ChartRequest): Promise<{ digest: string; name: string; version: string; content?: Buffer }> {
    const base = new URL(req.repoURL.endsWith('/') ? req.repoURL : `${req.repoURL}/`);
    const index = await repositoryIndex(req, base);
    const entries = isObject(index) && isObject(index.entries) ? index.entries[req.chart] : undefined;
    if (!Array.isArray(entries) || entries.length === 0) throw new FetchError(`${req.repoURL} has no chart named ${req.chart}`);
    const byVersion = new Map<string, Record<string, unknown>>();
    for (const entry of entries) if (isObject(entry) && typeof entry.version === 'string') byVersion.set(entry.version, entry);
    const version = pickVersion([...byVersion.keys()], req.version);
    if (!version) throw new FetchError(`${req.repoURL} has no version of ${req.chart} matching "${req.version ?? '*'}" (versions: ${[...byVersion.keys()].slice(0, 8).join(', ')})`);
    const entry = byVersion.get(version) ?? {};
    const url = Array.isArray(entry.urls) ? entry.urls.find((u): u is string => typeof u === 'string') : undefined;
    if (!url) throw new FetchError(`${req.repoURL}: ${req.chart} ${version} has no download URL`);
    const announced = typeof entry.digest === 'string' && /^[0-9a-f]{64}$/.test(entry.digest) ? `sha256:${entry.digest}` : undefined;
    if (announced) {
      const cached = await readBlob(announced);
      if (cached) return { digest: announced, name: req.chart, version, content: cached };
    }
    const content = await get(new URL(url, base), {}, maxChart, `${req.chart} ${version} from ${req.repoURL}`);
    const digest = await storeBlob(content, announced);
    return { digest, name: req.chart, version, content };
  }

  /** OCI registry: `<repo>/<chart>` tag = version (a range picks among the tags), the chart layer as the archive. */
  async function fromOciRegistry(req: ChartRequest): Promise<{ digest: string; name: string; version: string; content?: Buffer }> {
    const { host, repository } = ociRepository(req);
    if (!options.registryClient) throw new FetchError(`no registry client for ${host}`);
    // With registries.allow set, a chart's registry must be configured or listed, as an image's must (rule 3).
    const hostDecision = options.outbound?.registryHostDecision(host);
    if (hostDecision && !hostDecision.allowed) throw new FetchError(`oci://${host}/${repository}: not allowed by the outbound policy: ${hostDecision.reason}`);
    const client = options.registryClient(host);
    const tally = { requests: 0 };
    try {
      let version = req.version?.trim() || undefined;
      if (!version || !validVersion(version.replace(/_/g, '+'))) {
        const tags = await client.listTags(repository, 'authenticated', tally);
        const picked = pickVersion(tags.map((tag) => tag.replace(/_/g, '+')), version);
        if (!picked) throw new FetchError(`oci://${host}/${repository} has no tag matching "${version ?? '*'}"`);
        version = picked;
      }
      const tag = version.replace(/\+/g, '_');
      const manifestUrl = new URL(`v2/${repository}/manifests/${tag}`, `${client.endpoint.baseUrl}/`);
      const res = await client.request(repository, 'authenticated', { method: 'GET', url: manifestUrl, stage: 'manifest', accept: OCI_MANIFEST }, tally);
      if (res.status !== 200) throw new FetchError(`oci://${host}/${repository}:${tag} answered HTTP ${res.status}`);
      let manifest: unknown;
      try {
        manifest = JSON.parse(res.body);
      } catch {
        throw new FetchError(`oci://${host}/${repository}:${tag}: the manifest is not JSON`);
      }
      const layers = isObject(manifest) && Array.isArray(manifest.layers) ? manifest.layers : [];
      const layer = layers.find((l): l is Record<string, unknown> => isObject(l) && l.mediaType === HELM_CHART_LAYER);
      if (!layer || typeof layer.digest !== 'string') throw new FetchError(`oci://${host}/${repository}:${tag} is not a Helm chart (no ${HELM_CHART_LAYER} layer)`);
      const digest = layer.digest;
      const cached = await readBlob(digest);
      if (cached) return { digest, name: req.chart, version, content: cached };
      if (typeof layer.size === 'number' && layer.size > maxChart) throw new FetchError(`oci://${host}/${repository}:${tag} is ${layer.size} bytes, over the ${maxChart}-byte cap`);
      const auth = await client.authorization(repository, 'authenticated', tally);
      const blobUrl = new URL(`v2/${repository}/blobs/${digest}`, `${client.endpoint.baseUrl}/`);
      const content = await get(blobUrl, auth.header ? { authorization: auth.header } : {}, maxChart, `oci://${host}/${repository}:${tag}`, new URL(client.endpoint.baseUrl));
      await storeBlob(content, digest);
      return { digest, name: req.chart, version, content };
    } catch (error) {
      if (error instanceof FetchError) throw error;
      throw new FetchError(`oci://${host}/${repository}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      stats.requests += tally.requests;
    }
  }

  async function fetchOnce(req: ChartRequest): Promise<ChartFetchResult> {
    stats.fetches++;
    const oci = isOci(req.repoURL);
    const key = JSON.stringify([oci ? 'oci' : 'http', req.repoURL.replace(/\/+$/, ''), req.chart, req.version?.trim() ?? '']);
    const exact = req.version !== undefined && validVersion(req.version.trim()) !== null;
    const display = (version: string) => `${oci ? ociDisplay(req) : req.repoURL.replace(/\/+$/, '')}/${req.chart}@${version}`;
    const ref = await readRef(key);
    if (ref && (exact || options.offline || Date.now() - ref.resolvedAt < (options.rangeMaxAgeMs ?? 10 * 60_000))) {
      const content = await readBlob(ref.digest);
      if (content) {
        stats.hits++;
        return unpack(content, ref, display(ref.version), true);
      }
    }
    if (options.offline) return { ok: false, message: `chart ${req.chart} ${req.version ?? ''} from ${req.repoURL} is not in the chart cache, and fetching is off (--offline)` };
    try {
      const found = oci ? await fromOciRegistry(req) : await fromHelmRepository(req);
      const resolved: CachedRef = { digest: found.digest, name: found.name, version: found.version, resolvedAt: Date.now() };
      await writeAtomically(refFile(key), JSON.stringify(resolved));
      const content = found.content ?? (await readBlob(found.digest));
      if (!content) return { ok: false, message: `chart ${req.chart} ${found.version}: the cached archive is unreadable` };
      return unpack(content, resolved, display(found.version), false);
    } catch (error) {
      return { ok: false, message: error instanceof Error ? error.message : String(error) };
    }
  }

  async function unpack(content: Buffer, ref: CachedRef, display: string, cached: boolean): Promise<ChartFetchResult> {
    try {
      const budget = new LoadBudget({ maxTotalBytes: 4 * maxChart, maxFileBytes: maxChart });
      // A chart archive is at most maxChart bytes; 16 times that inflated is no chart but a gzip bomb.
      const files = await extractArchive(Readable.from([content]), budget, { stripComponents: 1, gzip: true, maxArchiveBytes: 16 * maxChart });
      // A chart with files left out would render wrong: a cap that stopped the archive makes it unusable.
      const capped = budget.findings.find((finding) => truncatesSource(finding));
      if (capped) return { ok: false, message: `${display}: ${capped.message}` };
      if (!files.has('Chart.yaml')) return { ok: false, message: `${display}: the archive holds no Chart.yaml` };
      return { ok: true, name: ref.name, version: ref.version, digest: ref.digest, display, files, cached };
    } catch (error) {
      return { ok: false, message: `${display}: the archive cannot be read (${error instanceof Error ? error.message : String(error)})` };
    }
  }

  return {
    stats,
    fetch(req) {
      const key = JSON.stringify([req.repoURL, req.chart, req.version ?? '']);
      let pending = inFlight.get(key);
      if (!pending) {
        pending = fetchOnce(req);
        inFlight.set(key, pending);
      }
      return pending;
    },
  };
}

/** `oci://host/path` or a bare `host/path` (Argo CD writes OCI Helm repositories without a scheme). */
export function isOci(repoURL: string): boolean {
  return repoURL.startsWith('oci://') || !/^[a-z][a-z0-9+.-]*:\/\//i.test(repoURL);
}

function ociRepository(req: ChartRequest): { host: string; repository: string } {
  const rest = req.repoURL.replace(/^oci:\/\//, '').replace(/\/+$/, '');
  const slash = rest.indexOf('/');
  const host = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash + 1);
  const repository = path === '' ? req.chart : path.endsWith(`/${req.chart}`) || path === req.chart ? path : `${path}/${req.chart}`;
  return { host, repository };
}

function ociDisplay(req: ChartRequest): string {
  const { host, repository } = ociRepository(req);
  return `oci://${host}/${repository.slice(0, Math.max(0, repository.length - req.chart.length - 1))}`.replace(/\/$/, '');
}

/** The version asked for: exact when it is one, else the newest matching the range (`*` when empty); prereleases only when asked. */
export function pickVersion(versions: readonly string[], wanted: string | undefined): string | undefined {
  const text = wanted?.trim() ?? '';
  if (text !== '' && versions.includes(text)) return text;
  const range = text === '' || text === 'latest' ? '*' : text;
  const valid = versions.filter((version) => validVersion(version) !== null);
  return maxSatisfying(valid, range, { loose: true }) ?? undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sha256(content: Buffer | string): string {
  return createHash('sha256').update(content).digest('hex');
}
