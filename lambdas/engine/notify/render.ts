/**
 * Renders the changes of one run into SNS messages: plain text for email, JSON for machines,
 * message attributes for subscription filter policies, split under SNS's 256 KB limit. Pure.
 */
import type { DriftStatus, ImageEvidence, SourceLocation } from '../model.js';
import { displaySafeDeep } from '../hygiene.js';
import type {
  AnnouncementKind,
  CompactEvidence,
  MessageAttribute,
  NotificationChange,
  NotificationContext,
  NotificationMessage,
  NotificationPayload,
  NotificationSource,
} from './types.js';

/** SNS's limit on a message, attributes included. */
export const SNS_MAX_MESSAGE_BYTES = 262_144;
/** What we allow ourselves: the limit minus a margin for the request's own fields. */
export const DEFAULT_MESSAGE_BUDGET_BYTES = SNS_MAX_MESSAGE_BYTES - 4_096;
export const MAX_SUBJECT_CHARS = 99;

export interface RenderOptions {
  /** Byte budget of one message (message + subject + attributes). Default 252 KB. */
  maxBytes?: number;
}

const KIND_ORDER: AnnouncementKind[] = ['new', 'unverified', 'reminder', 'resolved', 'briefly', 'verified', 'no-longer-desired'];
const KIND_LABEL: Record<AnnouncementKind, string> = {
  new: 'NEW',
  unverified: 'UNVERIFIED',
  reminder: 'STILL OPEN',
  resolved: 'RESOLVED',
  verified: 'VERIFIED AGAIN',
  'no-longer-desired': 'NO LONGER DESIRED',
  briefly: 'CAME AND WENT',
};

const STATUS_PHRASE: Record<DriftStatus, [string, string]> = {
  // [singular, plural] completing "N image(s) ..."
  PRESENT: ['present', 'present'],
  NEVER_PUSHED: ['never pushed', 'never pushed'],
  DISAPPEARED: ['disappeared', 'disappeared'],
  PRIVATE: ['private', 'private'],
  PLATFORM_MISSING: ['missing a platform', 'missing a platform'],
  INVALID_REFERENCE: ['with an invalid reference', 'with invalid references'],
  AUTH_FAILED: ['failing registry auth', 'failing registry auth'],
  NOT_VISIBLE_ANONYMOUSLY: ['not visible anonymously', 'not visible anonymously'],
  PULL_SECRET_MISSING: ['pulled without a pull secret', 'pulled without a pull secret'],
  UNVERIFIED: ['unverified', 'unverified'],
};

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function shortCommit(commit: string | undefined): string {
  return commit ? commit.slice(0, 7) : '';
}

function sourcesOf(ctx: NotificationContext): NotificationSource[] {
  return ctx.sources?.length ? ctx.sources : [{ repository: ctx.repository, ...(ctx.commit ? { commit: ctx.commit } : {}) }];
}

/** `owner/name@abc1234` for one repository; `N repositories` (and their names when they fit) for several. */
function where(ctx: NotificationContext): string {
  const sources = sourcesOf(ctx);
  if (sources.length === 1) {
    const only = sources[0] as NotificationSource;
    const c = shortCommit(only.commit);
    return c ? `${only.repository}@${c}` : only.repository;
  }
  const names = sources.map((s) => s.repository).join(', ');
  return names.length <= 40 ? names : `${sources.length} repositories`;
}

/** The web host of a GitHub API base URL (`https://api.github.com` → `https://github.com`, GHES `…/api/v3` → its host). */
export function gitHubWebUrl(apiBaseUrl: string | undefined): string {
  if (!apiBaseUrl) return 'https://github.com';
  const url = new URL(apiBaseUrl);
  if (url.hostname === 'api.github.com') return 'https://github.com';
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/api\/v3\/?$/, '').replace(/\/+$/, '')}`;
}

/** A link to the file and line at the commit the run read, when the repository is on a GitHub host. */
export function locationUrl(location: SourceLocation, ctx: NotificationContext): string | undefined {
  const sources = sourcesOf(ctx);
  const source = location.repo !== undefined ? sources.find((s) => s.repository === location.repo) : sources.length === 1 ? sources[0] : undefined;
  if (!source?.webUrl || !source.commit || !location.file) return undefined;
  const path = location.file.split('/').map(encodeURIComponent).join('/');
  return `${source.webUrl.replace(/\/+$/, '')}/${source.repository}/blob/${source.commit}/${path}${location.line > 0 ? `#L${location.line}` : ''}`;
}

/** The web page of an image's repository in its registry (ghcr.io and Docker Hub); undefined for others or invalid references. */
export function packageUrl(image: string): string | undefined {
  const match = /^([^/]+)\/([a-z0-9._/-]+?)(?::[^/@]+)?(?:@sha256:[a-f0-9]+)?$/.exec(image);
  if (!match) return undefined;
  const [, host, repository = ''] = match;
  if (host === 'ghcr.io') return `https://ghcr.io/${repository}`;
  if (host === 'docker.io') return repository.startsWith('library/') ? `https://hub.docker.com/_/${repository.slice(8)}` : `https://hub.docker.com/r/${repository}`;
  return undefined;
}

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

function headline(changes: readonly NotificationChange[]): string {
  const byKind = countBy(changes, (c) => c.kind);
  const kinds = Object.keys(byKind) as AnnouncementKind[];
  if (kinds.length === 1) {
    const kind = kinds[0] as AnnouncementKind;
    const n = changes.length;
    if (kind === 'new' || kind === 'unverified') {
      const statuses = new Set(changes.map((c) => c.status));
      const only = [...statuses][0];
      if (statuses.size === 1 && only !== undefined && only !== 'UNTRACKED') {
        const [one, many] = STATUS_PHRASE[only];
        return `${plural(n, 'image', 'images')} ${n === 1 ? one : many}`;
      }
      return plural(n, 'new drift', 'new drifts');
    }
    if (kind === 'resolved') return plural(n, 'drift resolved', 'drifts resolved');
    if (kind === 'reminder') return plural(n, 'drift still open', 'drifts still open');
    if (kind === 'verified') return `${plural(n, 'image', 'images')} verified again`;
    if (kind === 'briefly') return `${plural(n, 'drift', 'drifts')} came and went`;
    return `${plural(n, 'drift', 'drifts')} closed: no longer desired`;
  }
  const parts: string[] = [];
  for (const kind of KIND_ORDER) {
    const n = byKind[kind];
    if (!n) continue;
    if (kind === 'new') parts.push(plural(n, 'new drift', 'new drifts'));
    if (kind === 'unverified') parts.push(`${n} unverified`);
    if (kind === 'reminder') parts.push(`${n} still open`);
    if (kind === 'resolved') parts.push(`${n} resolved`);
    if (kind === 'verified') parts.push(`${n} verified again`);
    if (kind === 'no-longer-desired') parts.push(`${n} no longer desired`);
    if (kind === 'briefly') parts.push(`${n} came and went`);
  }
  return parts.join(', ');
}

function subjectFor(changes: readonly NotificationChange[], ctx: NotificationContext, part: { index: number; total: number }): string {
  const suffix = part.total > 1 ? ` (${part.index}/${part.total})` : '';
  const tail = ` · ${where(ctx)}${suffix}`;
  const head = headline(changes);
  // SNS subjects: UTF-8 without line breaks or control characters, under 100 characters.
  const full = `${head}${tail}`.replace(/[\u0000-\u001f\u007f]+/g, ' ');
  if (full.length <= MAX_SUBJECT_CHARS) return full;
  return clip(`${head}${suffix}`, MAX_SUBJECT_CHARS);
}

function severityOf(changes: readonly NotificationChange[]): 'high' | 'medium' | 'low' {
  if (changes.some((c) => c.kind === 'new')) return 'high';
  if (changes.some((c) => c.kind === 'unverified' || c.kind === 'reminder' || c.kind === 'briefly')) return 'medium';
  return 'low';
}

export function compactEvidence(e: ImageEvidence | undefined): CompactEvidence | undefined {
  if (!e) return undefined;
  const probe = e.authenticated ?? e.anonymous;
  const out: CompactEvidence = {};
  if (probe?.http !== undefined) out.http = probe.http;
  if (probe?.code) out.code = clip(probe.code, 80);
  if (probe?.message) out.message = clip(probe.message, 300);
  if (probe?.stage) out.stage = probe.stage;
  if (probe?.digest) out.digest = probe.digest;
  if (probe?.platforms?.length) out.platforms = probe.platforms.slice(0, 12).map((p) => clip(p, 40));
  if (probe?.error) out.error = clip(probe.error, 300);
  if (e.packagesApi) {
    const p = e.packagesApi;
    out.packagesApi = {
      ...(p.http !== undefined ? { http: p.http } : {}),
      ...(p.visibility ? { visibility: p.visibility } : {}),
      ...(p.tagFound !== undefined ? { tagFound: p.tagFound } : {}),
      ...(p.deletedVersionWithTag
        ? {
            deletedVersionWithTag: {
              id: p.deletedVersionWithTag.id,
              ...(p.deletedVersionWithTag.deletedAt ? { deletedAt: p.deletedVersionWithTag.deletedAt } : {}),
            },
          }
        : {}),
    };
  }
  if (e.tags?.nearest.length) out.nearestTags = e.tags.nearest.slice(0, 5).map((t) => clip(t, 128));
  if (e.candidates?.length) out.candidates = e.candidates.slice(0, 5).map((t) => clip(t, 200));
  return out;
}

const MAX_LOCATIONS = 10;

function entryText(c: NotificationChange, ctx: NotificationContext): string {
  const now = ctx.at;
  const lines: string[] = [];
  lines.push(`${KIND_LABEL[c.kind]}  ${c.image}`);
  const state =
    c.kind === 'no-longer-desired'
      ? `${c.closedStatus ?? c.previous ?? 'drift'} closed: the image is no longer in the desired state (not a fix)`
      : c.kind === 'resolved'
        ? `${c.status === 'UNTRACKED' ? 'closed' : c.status} (was ${c.previous ?? 'a drift'})`
        : c.kind === 'verified'
          ? `${c.status} since ${fmtTime(c.since)}, unchanged: the registry answers again`
          : c.kind === 'briefly'
            ? `${c.status === 'UNTRACKED' ? 'no longer desired' : c.status} since ${fmtTime(c.since)}`
          : `${c.status}${c.previous && c.previous !== c.status ? ` (was ${c.previous})` : ''} since ${fmtTime(c.since)}${
              c.kind === 'reminder' ? ` (open ${openFor(c.since, now)})` : ''
            }`;
  lines.push(`    Status:   ${state}`);
  for (const b of c.briefly ?? []) {
    lines.push(`    Was briefly ${b.status} from ${fmtTime(b.since)} to ${fmtTime(b.until)}${b.verdict ? ` (verdict ${b.verdict})` : ''}, not announced then`);
  }
  const ev = compactEvidence(c.evidence);
  const evParts: string[] = [];
  if (c.verdict) evParts.push(`verdict ${c.verdict}`);
  if (ev?.http !== undefined) evParts.push(`HTTP ${ev.http}`);
  if (ev?.code) evParts.push(ev.code);
  if (ev?.stage) evParts.push(`at ${ev.stage}`);
  if (ev?.error) evParts.push(ev.error);
  if (ev?.digest) evParts.push(`digest ${ev.digest}`);
  if (ev?.packagesApi?.deletedVersionWithTag) {
    const d = ev.packagesApi.deletedVersionWithTag;
    evParts.push(`deleted package version ${d.id}${d.deletedAt ? ` (${d.deletedAt})` : ''} carried the tag`);
  }
  if (evParts.length) lines.push(`    Evidence: ${evParts.join(' · ')}`);
  if (ev?.message) lines.push(`    Registry: ${ev.message}`);
  if (c.lastDigest && c.lastDigest !== ev?.digest) lines.push(`    Last digest seen: ${c.lastDigest}`);
  if (c.kind === 'unverified' && c.noVerdictRuns) lines.push(`    No verdict for ${c.noVerdictRuns} consecutive runs`);
  if (ev?.platforms?.length && (c.status === 'PLATFORM_MISSING' || c.verdict === 'PLATFORM_MISSING')) {
    lines.push(`    Platforms in the image: ${ev.platforms.join(', ')}`);
  }
  if (ev?.nearestTags?.length) lines.push(`    Nearest tags: ${ev.nearestTags.join(', ')}`);
  if (ev?.candidates?.length) lines.push(`    Did you mean: ${ev.candidates.join(', ')}`);
  const locs = c.locations
    .slice(0, MAX_LOCATIONS)
    .map((l) => locationUrl(l, ctx) ?? `${l.repo ? `${l.repo}: ` : ''}${l.line > 0 ? `${l.file}:${l.line}` : l.file}`);
  if (c.locations.length > MAX_LOCATIONS) locs.push(`… and ${c.locations.length - MAX_LOCATIONS} more`);
  // One per line: links must stay whole for mail clients to make them clickable.
  locs.forEach((loc, i) => lines.push(`    ${i === 0 ? 'Where:   ' : '         '} ${loc}`));
  const open = c.kind !== 'resolved' && c.kind !== 'no-longer-desired' && c.kind !== 'verified';
  if (c.hint && open) lines.push(`    Fix:      ${clip(c.hint.replace(/\s+/g, ' '), 1000)}`);
  if (c.settle && open) lines.push(`    Settle:   ${c.settle}`);
  const pkg = packageUrl(c.image);
  if (pkg) lines.push(`    Package:  ${pkg}`);
  return lines.join('\n');
}

function openFor(sinceIso: string, now: Date): string {
  const ms = now.getTime() - Date.parse(sinceIso);
  if (!Number.isFinite(ms) || ms < 0) return 'since then';
  const hours = Math.floor(ms / 3_600_000);
  if (hours < 48) return `${hours} h`;
  return `${Math.floor(hours / 24)} days`;
}

function fmtTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function countBy<T, K extends string>(items: readonly T[], key: (t: T) => K): Partial<Record<K, number>> {
  const out: Partial<Record<K, number>> = {};
  for (const t of items) {
    const k = key(t);
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

function sortChanges(changes: readonly NotificationChange[]): NotificationChange[] {
  return [...changes].sort(
    (a, b) =>
      KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) ||
      (a.apps[0] ?? '').localeCompare(b.apps[0] ?? '') ||
      a.image.localeCompare(b.image),
  );
}

function textFor(changes: readonly NotificationChange[], ctx: NotificationContext, part: { index: number; total: number }): string {
  const out: string[] = [];
  out.push(`Image drift report for ${where(ctx).replace(/@([0-9a-f]{7})$/, ' at $1')}`);
  out.push(`Run ${ctx.runId} · ${fmtTime(ctx.at.toISOString())}${part.total > 1 ? ` · part ${part.index} of ${part.total}` : ''}`);
  out.push('');
  out.push(headline(changes) + '.');
  // Group by app: an image used by several apps is listed under each of them.
  const groups = new Map<string, NotificationChange[]>();
  for (const c of changes) {
    for (const app of c.apps.length ? c.apps : ['(no app)']) {
      const g = groups.get(app) ?? [];
      g.push(c);
      groups.set(app, g);
    }
  }
  for (const app of [...groups.keys()].sort()) {
    const g = groups.get(app) ?? [];
    out.push('');
    out.push(`== ${app} (${g.length}) ==`);
    for (const c of g) {
      out.push('');
      out.push(entryText(c, ctx));
    }
  }
  out.push(...warningsText(ctx));
  out.push('');
  out.push('--');
  out.push('Sent by image-drift-auditor: one message per run, when an alert starts, ends or is due for a reminder.');
  return out.join('\n');
}

function warningsText(ctx: NotificationContext): string[] {
  if (!ctx.warnings?.length) return [];
  return ['', '== Configuration warnings ==', '', ...ctx.warnings.map((w) => `- ${clip(w, 500)}`)];
}

function payloadFor(changes: readonly NotificationChange[], ctx: NotificationContext, part: { index: number; total: number }): NotificationPayload {
  return {
    schema: 'image-drift-auditor/notification@1',
    repository: ctx.repository,
    ...(ctx.commit ? { commit: ctx.commit } : {}),
    runId: ctx.runId,
    at: ctx.at.toISOString(),
    part,
    summary: countBy(changes, (c) => c.kind),
    changes: changes.map((c) => {
      const { evidence, ...rest } = c;
      const ev = compactEvidence(evidence);
      const locations = c.locations.slice(0, MAX_LOCATIONS);
      const urls = locations.map((l) => locationUrl(l, ctx));
      const pkg = packageUrl(c.image);
      return {
        ...rest,
        locations,
        ...(c.hint ? { hint: clip(c.hint, 1000) } : {}),
        ...(ev ? { evidence: ev } : {}),
        ...(urls.every((u): u is string => u !== undefined) && urls.length ? { locationUrls: urls } : {}),
        ...(pkg ? { packageUrl: pkg } : {}),
      };
    }),
    ...(ctx.warnings?.length ? { warnings: ctx.warnings } : {}),
  };
}

function attributesFor(changes: readonly NotificationChange[], ctx: NotificationContext): Record<string, MessageAttribute> {
  const attrs: Record<string, MessageAttribute> = {
    severity: { DataType: 'String', StringValue: severityOf(changes) },
    repository: { DataType: 'String', StringValue: clip(ctx.repository || 'unknown', 256) },
    kinds: { DataType: 'String.Array', StringValue: JSON.stringify([...new Set(changes.map((c) => c.kind))].sort()) },
    statuses: { DataType: 'String.Array', StringValue: JSON.stringify([...new Set(changes.map((c) => c.status))].sort()) },
  };
  const verdicts = [...new Set(changes.flatMap((c) => (c.verdict ? [c.verdict] : [])))].sort();
  if (verdicts.length) attrs['verdicts'] = { DataType: 'String.Array', StringValue: JSON.stringify(verdicts) };
  return attrs;
}

function build(changes: NotificationChange[], ctx: NotificationContext, part: { index: number; total: number }): NotificationMessage {
  // The e-mail is read by people: untrusted strings show their control and bidi characters as escapes.
  const shown = displaySafeDeep(changes);
  const shownCtx = displaySafeDeep(ctx);
  const text = textFor(shown, shownCtx, part);
  const payload = payloadFor(changes, ctx, part);
  const json = JSON.stringify(payload);
  const message = JSON.stringify({ default: text, email: text, sqs: json, lambda: json, https: json });
  const subject = subjectFor(shown, shownCtx, part);
  const attributes = attributesFor(changes, ctx);
  let bytes = Buffer.byteLength(message, 'utf8') + Buffer.byteLength(subject, 'utf8');
  for (const [name, a] of Object.entries(attributes)) {
    bytes += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(a.DataType, 'utf8') + Buffer.byteLength(a.StringValue, 'utf8');
  }
  return { subject, text, payload, message, attributes, changes, bytes };
}

/**
 * One message for a run's changes, or several when one would exceed the SNS size limit.
 * No changes → no message.
 */
export function renderNotification(
  changes: readonly NotificationChange[],
  context: NotificationContext,
  options: RenderOptions = {},
): NotificationMessage[] {
  if (changes.length === 0) return [];
  const budget = options.maxBytes ?? DEFAULT_MESSAGE_BUDGET_BYTES;
  const sorted = sortChanges(changes);
  // Pack greedily by each change's marginal size, then verify each chunk and halve any that is over.
  const base = build([], context, { index: 99, total: 99 }).bytes;
  const cost = sorted.map((c) => build([c], context, { index: 99, total: 99 }).bytes - base);
  let chunks: NotificationChange[][] = [];
  let current: NotificationChange[] = [];
  let used = base;
  sorted.forEach((c, i) => {
    const add = (cost[i] ?? 0) + 64;
    if (current.length > 0 && used + add > budget) {
      chunks.push(current);
      current = [];
      used = base;
    }
    current.push(c);
    used += add;
  });
  if (current.length) chunks.push(current);

  for (let guard = 0; guard < 64; guard++) {
    const total = chunks.length;
    const over = chunks.findIndex((chunk, i) => chunk.length > 1 && build(chunk, context, { index: i + 1, total }).bytes > budget);
    if (over < 0) break;
    const chunk = chunks[over] ?? [];
    const half = Math.ceil(chunk.length / 2);
    chunks = [...chunks.slice(0, over), chunk.slice(0, half), chunk.slice(half), ...chunks.slice(over + 1)];
  }
  const total = chunks.length;
  return chunks.map((chunk, i) => build(chunk, context, { index: i + 1, total }));
}

/**
 * The one message a first run sends when credentials are missing, instead of an alert per image: what is
 * missing, what the run saw, and that the alerts follow with the next run.
 */
export function renderSetupIncomplete(
  problems: readonly string[],
  counts: Partial<Record<DriftStatus, number>>,
  ctx: NotificationContext,
): NotificationMessage {
  const seen = Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, n]) => `${status} ${n}`);
  const text = [
    `Image drift auditor setup incomplete for ${where(ctx).replace(/@([0-9a-f]{7})$/, ' at $1')}`,
    `Run ${ctx.runId} · ${fmtTime(ctx.at.toISOString())}`,
    '',
    'This first run had no credentials to check private images with, so it sends this one message instead of an alert per image:',
    '',
    ...problems.map((p) => `- ${clip(p, 500)}`),
    '',
    `Images seen: ${seen.length ? seen.join(', ') : 'none with a verdict'}.`,
    'Fill the secret (see docs/deploy.md); the next run alerts on what it finds.',
    ...warningsText(ctx),
    '',
    '--',
    'Sent by image-drift-auditor once per deployment.',
  ].join('\n');
  const payload: NotificationPayload = {
    schema: 'image-drift-auditor/notification@1',
    repository: ctx.repository,
    ...(ctx.commit ? { commit: ctx.commit } : {}),
    runId: ctx.runId,
    at: ctx.at.toISOString(),
    part: { index: 1, total: 1 },
    summary: {},
    changes: [],
    ...(ctx.warnings?.length ? { warnings: ctx.warnings } : {}),
    setupIncomplete: { problems: [...problems], counts },
  };
  const json = JSON.stringify(payload);
  const subject = clip(`Setup incomplete: credentials missing · ${where(ctx)}`.replace(/[\u0000-\u001f\u007f]+/g, ' '), MAX_SUBJECT_CHARS);
  const attributes: Record<string, MessageAttribute> = {
    severity: { DataType: 'String', StringValue: 'medium' },
    repository: { DataType: 'String', StringValue: clip(ctx.repository || 'unknown', 256) },
    kinds: { DataType: 'String.Array', StringValue: JSON.stringify(['setup-incomplete']) },
  };
  const message = JSON.stringify({ default: text, email: text, sqs: json, lambda: json, https: json });
  return { subject, text, payload, message, attributes, changes: [], bytes: Buffer.byteLength(message, 'utf8') + Buffer.byteLength(subject, 'utf8') };
}
