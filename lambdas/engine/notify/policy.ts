/**
 * The alert policy: which of the announcements the history owes are worth an e-mail. One module for the
 * Lambda and the CLI (`--alerts-preview`), so both say the same thing. Pure: no I/O, the clock comes in.
 *
 * The history (history/drift.ts) says what changed; this module decides, per owed announcement:
 * - `send`: publish it (possibly worded as another kind, e.g. a drift that became an unalerted status is "resolved");
 * - `hold`: not now, keep it owed (an ignored image, NOT_VISIBLE_ANONYMOUSLY not yet settled for N runs);
 * - `settle`: never worth saying (a status outside `alertOn`): mark it told without publishing.
 */
import picomatch from 'picomatch';
import type { AuditorConfig } from '../config/schema.js';
import type { DriftStatus, Verdict } from '../model.js';
import type { AnnouncementKind, ImageState } from '../history/types.js';

export type AlertDecision =
  | { action: 'send'; kind: AnnouncementKind }
  | { action: 'hold'; reason: string }
  | { action: 'settle'; reason: string };

/** The part of the config the policy reads. */
export type AlertPolicyConfig = Pick<AuditorConfig, 'alertOn' | 'notVisibleAlertAfterRuns' | 'ignore' | 'registries'>;

type IgnoreEntry = AuditorConfig['ignore'][number];

/** What a verdict in `alertOn` stands for among drift states, to judge statuses told in the past (no verdict kept). */
const STATUSES_OF_VERDICT: Partial<Record<Verdict, DriftStatus[]>> = {
  TAG_MISSING: ['NEVER_PUSHED', 'DISAPPEARED'],
  REPO_MISSING: ['NEVER_PUSHED', 'DISAPPEARED'],
  PRIVATE: ['PRIVATE', 'PULL_SECRET_MISSING'],
  RATE_LIMITED: ['UNVERIFIED'],
  UNREACHABLE: ['UNVERIFIED'],
};

interface CompiledIgnore {
  index: number;
  entry: IgnoreEntry;
  image: (s: string) => boolean;
  app?: (s: string) => boolean;
  path?: (s: string) => boolean;
  /** End of the `until` day (UTC), epoch ms. */
  endsAt?: number;
}

const GLOB = { dot: true, nocase: false } as const;

export class AlertPolicy {
  private readonly alertOn: ReadonlySet<string>;
  private readonly toldAlerting: ReadonlySet<string>;
  private readonly ignores: CompiledIgnore[];

  constructor(private readonly config: AlertPolicyConfig) {
    this.alertOn = new Set(config.alertOn);
    const told = new Set<string>();
    for (const value of config.alertOn) {
      told.add(value);
      for (const status of STATUSES_OF_VERDICT[value as Verdict] ?? []) told.add(status);
    }
    if (config.notVisibleAlertAfterRuns > 0) told.add('NOT_VISIBLE_ANONYMOUSLY');
    this.toldAlerting = told;
    this.ignores = config.ignore.map((entry, index) => ({
      index,
      entry,
      image: picomatch(entry.image, GLOB),
      ...(entry.app ? { app: picomatch(entry.app, GLOB) } : {}),
      ...(entry.path ? { path: picomatch(entry.path, GLOB) } : {}),
      ...(entry.until ? { endsAt: Date.parse(`${entry.until}T00:00:00Z`) + 86_400_000 } : {}),
    }));
  }

  /** How many runs in one status the history must count (the largest "after N runs" threshold). */
  get statusRunsCap(): number {
    return Math.max(1, this.config.notVisibleAlertAfterRuns);
  }

  /** True when the image's current status is worth an alert, ignore entries aside. */
  alerts(state: Pick<ImageState, 'status' | 'verdict' | 'statusRuns'>): boolean {
    const status = state.status;
    if (status === undefined || status === 'PRESENT') return false;
    if (this.alertOn.has(status)) return true;
    if (status === 'NOT_VISIBLE_ANONYMOUSLY') {
      const after = this.config.notVisibleAlertAfterRuns;
      return after > 0 && (state.statusRuns ?? 1) >= after;
    }
    // A verdict listed in alertOn (TAG_MISSING, PRIVATE...) alerts for the states it produces; not UNVERIFIED,
    // whose verdict (the last one seen) says nothing about the image now.
    return status !== 'UNVERIFIED' && state.verdict !== undefined && this.alertOn.has(state.verdict);
  }

  /** True when a status told in the past was an alert under this policy. */
  private wasAlert(told: DriftStatus | 'UNTRACKED' | undefined): boolean {
    return told !== undefined && told !== 'UNTRACKED' && told !== 'PRESENT' && this.toldAlerting.has(told);
  }

  /** The ignore entry that silences this image now, if any (expired entries never do). */
  ignoredBy(state: Pick<ImageState, 'image' | 'apps' | 'locations'>, now: Date): IgnoreEntry | undefined {
    for (const rule of this.ignores) {
      if (rule.endsAt !== undefined && now.getTime() >= rule.endsAt) continue;
      if (!rule.image(state.image)) continue;
      if (rule.app && !state.apps.some((app) => rule.app?.(app))) continue;
      if (rule.path && !state.locations.some((location) => rule.path?.(location.file))) continue;
      return rule.entry;
    }
    return undefined;
  }

  /** One warning per expired ignore entry: the images it covered alert again. */
  warnings(now: Date): string[] {
    return this.ignores
      .filter((rule) => rule.endsAt !== undefined && now.getTime() >= rule.endsAt)
      .map(
        (rule) =>
          `ignore[${rule.index}] (${rule.entry.image}${rule.entry.app ? `, app ${rule.entry.app}` : ''}${rule.entry.path ? `, path ${rule.entry.path}` : ''}) expired on ${rule.entry.until}: its images alert again. Reason given: ${rule.entry.reason}`,
      );
  }

  /** What to do with an announcement the history owes for `state`. */
  decide(state: ImageState, kind: AnnouncementKind, now: Date): AlertDecision {
    const ignored = this.ignoredBy(state, now);
    if (ignored) return { action: 'hold', reason: `ignored: ${ignored.reason}` };
    const told = state.notifiedStatus;
    switch (kind) {
      case 'new':
      case 'unverified': {
        if (this.alerts(state)) return { action: 'send', kind };
        if (state.status === 'NOT_VISIBLE_ANONYMOUSLY' && this.config.notVisibleAlertAfterRuns > 0) {
          // Not settled yet: held until it stays so for N runs (or settles before).
          return this.wasAlert(told)
            ? { action: 'send', kind: 'resolved' }
            : { action: 'hold', reason: `not visible anonymously for ${state.statusRuns ?? 1} of ${this.config.notVisibleAlertAfterRuns} runs` };
        }
        // The status is not alerted on: the drift subscribers were told about is over; else nothing to say.
        return this.wasAlert(told) ? { action: 'send', kind: 'resolved' } : { action: 'settle', reason: `${state.status ?? 'no status'} is not in alertOn` };
      }
      case 'reminder':
        return this.alerts(state) ? { action: 'send', kind } : { action: 'hold', reason: 'not alerted on' };
      case 'resolved':
      case 'no-longer-desired':
        return this.wasAlert(told) ? { action: 'send', kind } : { action: 'settle', reason: `${told ?? 'nothing'} was never alerted` };
      case 'briefly':
        // Drifts that came and went before subscribers were told: worth saying when one of them was an alert.
        return (state.missed ?? []).some((m) => this.wasAlert(m.status))
          ? { action: 'send', kind }
          : { action: 'settle', reason: 'none of the brief drifts is alerted on' };
      case 'verified':
        // Subscribers were told UNVERIFIED; the status from before the outage is back.
        if (this.wasAlert(told)) return { action: 'send', kind };
        return { action: 'settle', reason: 'UNVERIFIED was never alerted' };
    }
  }

  /**
   * For NOT_VISIBLE_ANONYMOUSLY: the credential that would settle it (a credential sees the image or proves it
   * missing). Worded for both shells: the secret key (deployed) and the environment variable (CLI).
   */
  settleAdvice(image: string): string {
    const host = registryHost(image);
    const credential = this.config.registries[host]?.credential;
    if (credential) {
      const key = credential.secretKey ?? (credential.type === 'github-token' ? 'githubToken' : `registries."${host}"`);
      return `The ${credential.type} credential configured for ${host} (secret key ${key}${credential.env ? `, CLI variable ${credential.env}` : ''}) cannot see it: give it read access to this repository, or check the name.`;
    }
    if (host === 'ghcr.io') {
      return 'Settle it with a ghcr.io credential: registries."ghcr.io".credential {type: github-token} and a classic PAT with read:packages as githubToken in the secret (CLI: GITHUB_TOKEN).';
    }
    return `Settle it with a credential for ${host}: registries."${host}".credential {type: basic} and its username/password under registries."${host}" in the secret (CLI: the variable named by credential.env).`;
  }
}

/** The registry host of a canonical reference (`ghcr.io/acme/web:1` → `ghcr.io`). */
export function registryHost(image: string): string {
  const first = image.split('/')[0] ?? '';
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : 'docker.io';
}
