/**
 * DynamoDB implementation of HistoryStore (single-table design, see docs/history-table.md).
 * Used by the Lambda against DynamoDB and by the CLI against an embedded dynalite: same code path.
 * Only conditional Put/Update, GetItem, BatchWriteItem and Query: no transactions (dynalite lacks them).
 */
import {
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type QueryCommandInput,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import type { DriftStatus, ImageEvidence, SourceLocation, Verdict } from '../model.js';
import { announcementKind, isOpenDrift } from './drift.js';
import { fromItem, read, toItem, type Plain } from './marshal.js';
import { HISTORY_TABLE_DESIGN, keys } from './table-design.js';
import { mapLimit, sleep } from './util.js';
import type {
  DriftEvent,
  EventKind,
  EventQuery,
  HistoryStore,
  ImageState,
  MissedDrift,
  NotificationClaim,
  OutboxMessage,
  OutboxStatus,
  RunSummary,
} from './types.js';

export interface DynamoHistoryStoreOptions {
  client: DynamoDBClient;
  tableName?: string;
  /** Days run summaries and events are kept (TTL; the config's historyRetentionDays). Default 90. */
  runRetentionDays?: number;
  /** Days a notification claim is kept (TTL). Default 30. */
  claimRetentionDays?: number;
  /** Retries of BatchWriteItem UnprocessedItems. Default 8 attempts, 50 ms base delay. */
  batchMaxAttempts?: number;
  batchBaseDelayMs?: number;
  /** Parallel single-item writes. Default 16. */
  concurrency?: number;
  /** How far back listEvents looks when no `since` is given, in months. Default 24. */
  defaultEventMonths?: number;
  /** "Now" for queries without an upper bound. Default: the system clock. */
  clock?: () => Date;
}

type Item = Record<string, AttributeValue>;
type PlainObject = { [key: string]: Plain };

const GSI = HISTORY_TABLE_DESIGN.globalSecondaryIndexes[0].indexName;
const DAY_S = 86_400;
/** Lease of the claims written before the outbox existed (`claimStatus = claimed`). */
const LEGACY_CLAIM_LEASE_MS = 10 * 60_000;

export class DynamoHistoryStore implements HistoryStore {
  readonly tableName: string;
  private readonly client: DynamoDBClient;
  private readonly runRetentionDays: number;
  private readonly claimRetentionDays: number;
  private readonly batchMaxAttempts: number;
  private readonly batchBaseDelayMs: number;
  private readonly concurrency: number;
  private readonly defaultEventMonths: number;
  private readonly clock: () => Date;

  constructor(options: DynamoHistoryStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName ?? HISTORY_TABLE_DESIGN.defaultTableName;
    this.runRetentionDays = options.runRetentionDays ?? 90;
    this.claimRetentionDays = options.claimRetentionDays ?? 30;
    this.batchMaxAttempts = options.batchMaxAttempts ?? 8;
    this.batchBaseDelayMs = options.batchBaseDelayMs ?? 50;
    this.concurrency = options.concurrency ?? 16;
    this.defaultEventMonths = options.defaultEventMonths ?? 24;
    this.clock = options.clock ?? (() => new Date());
  }

  // ─── State ───────────────────────────────────────────────────────────────

  async loadActiveStates(): Promise<ImageState[]> {
    const buckets = [keys.stateOpenPk, keys.stateOkPk, keys.statePendingPk];
    const pages = await Promise.all(buckets.map((pk) => this.queryAll(this.gsiQuery(pk))));
    const byImage = new Map<string, ImageState>();
    for (const item of pages.flat()) {
      const state = stateFromItem(item);
      const seen = byImage.get(state.image);
      // An eventually consistent index may briefly show an item under two buckets: keep the newest.
      if (!seen || seen.version < state.version) byImage.set(state.image, state);
    }
    return [...byImage.values()];
  }

  async getState(image: string): Promise<ImageState | undefined> {
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: toItem({ pk: keys.imagePk(image), sk: keys.stateSk }),
        ConsistentRead: true,
      }),
    );
    return out.Item ? stateFromItem(out.Item) : undefined;
  }

  async putState(next: ImageState): Promise<boolean> {
    const first = next.version === 1;
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: stateToItem(next),
          ConditionExpression: first ? 'attribute_not_exists(pk)' : '#v = :prev',
          ...(first
            ? {}
            : { ExpressionAttributeNames: { '#v': 'version' }, ExpressionAttributeValues: toItem({ ':prev': next.version - 1 }) }),
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  async clearJournal(state: ImageState): Promise<boolean> {
    // An untracked state that owes nothing stays in the PENDING bucket only while it has a journal.
    const leaveBucket = stateBucket({ ...state, journal: [] }) === undefined;
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: toItem({ pk: keys.imagePk(state.image), sk: keys.stateSk }),
          UpdateExpression: leaveBucket ? 'REMOVE journal, gsi1pk, gsi1sk' : 'REMOVE journal',
          ConditionExpression: '#v = :v',
          ExpressionAttributeNames: { '#v': 'version' },
          ExpressionAttributeValues: toItem({ ':v': state.version }),
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  async markNotified(
    image: string,
    statusVersion: number,
    notified: { status: DriftStatus | 'UNTRACKED'; at: string; untracked: boolean; by?: string },
  ): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: toItem({ pk: keys.imagePk(image), sk: keys.stateSk }),
          UpdateExpression:
            `SET notifiedStatus = :ns, notifiedAt = :at, notifiedVersion = :sv, #v = #v + :one${notified.by ? ', notifiedBy = :by' : ''} REMOVE missed` +
            (notified.untracked ? ', gsi1pk, gsi1sk' : ''),
          // Marked by this very message already (a later run completing a settle): nothing to do.
          ConditionExpression: notified.by ? 'statusVersion = :sv AND (attribute_not_exists(notifiedBy) OR notifiedBy <> :by)' : 'statusVersion = :sv',
          ExpressionAttributeNames: { '#v': 'version' },
          ExpressionAttributeValues: toItem({
            ':ns': notified.status,
            ':at': notified.at,
            ':sv': statusVersion,
            ':one': 1,
            ...(notified.by ? { ':by': notified.by } : {}),
          }),
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  // ─── Events and runs ─────────────────────────────────────────────────────

  async appendEvents(events: DriftEvent[]): Promise<void> {
    const items: Item[] = [];
    for (const e of events) {
      // Events expire with the history (historyRetentionDays, TTL attribute); current states never do.
      const body = { ...eventToPlain(e), expiresAt: this.eventExpiry(e.at) };
      items.push(
        toItem({
          pk: keys.imagePk(e.image),
          sk: keys.imageEventSk(e.at, e.version, e.kind),
          gsi1pk: keys.eventsMonthPk(e.at),
          gsi1sk: keys.eventsMonthSk(e.at, e.image, e.version, e.kind),
          ...body,
        }),
      );
      for (const app of new Set(e.apps)) {
        items.push(toItem({ pk: keys.appPk(app), sk: keys.appEventSk(e.at, e.image, e.version, e.kind), ...body }));
      }
    }
    await this.batchPut(items);
  }

  async putRun(summary: RunSummary): Promise<void> {
    // A retried invocation has the same runId: its empty summary must not replace the one of the attempt
    // that recorded the transitions or sent the notification.
    const empty = summary.transitions === 0 && summary.notification === undefined;
    try {
      await this.putRunItem(summary, empty);
    } catch (err) {
      if (empty && err instanceof ConditionalCheckFailedException) return;
      throw err;
    }
  }

  private async putRunItem(summary: RunSummary, onlyOverEmpty: boolean): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        ...(onlyOverEmpty
          ? {
              ConditionExpression: 'attribute_not_exists(pk) OR (#t = :zero AND attribute_not_exists(#n))',
              ExpressionAttributeNames: { '#t': 'transitions', '#n': 'notification' },
              ExpressionAttributeValues: toItem({ ':zero': 0 }),
            }
          : {}),
        TableName: this.tableName,
        Item: toItem({
          pk: keys.runPk(summary.runId),
          sk: keys.runSk,
          gsi1pk: keys.runsPk,
          gsi1sk: keys.runsSk(summary.startedAt, summary.runId),
          type: 'run',
          runId: summary.runId,
          repository: summary.repository,
          commit: summary.commit,
          startedAt: summary.startedAt,
          durationMs: summary.durationMs,
          counts: summary.counts as { [key: string]: number },
          images: summary.images,
          transitions: summary.transitions,
          errors: summary.errors,
          notification: summary.notification
            ? {
                sent: summary.notification.sent,
                messageIds: summary.notification.messageIds,
                error: summary.notification.error,
              }
            : undefined,
          expiresAt: summary.expiresAt,
        }),
      }),
    );
  }

  /** TTL for an event recorded at `at` (ISO 8601): as long as run summaries are kept. */
  eventExpiry(at: string): number {
    const ms = Date.parse(at);
    return Math.floor((Number.isNaN(ms) ? this.clock().getTime() : ms) / 1000) + this.runRetentionDays * DAY_S;
  }

  /** TTL for a run summary started at `startedAt`. */
  runExpiry(startedAt: Date): number {
    return Math.floor(startedAt.getTime() / 1000) + this.runRetentionDays * DAY_S;
  }

  // ─── The outbox: messages stored before publishing, claims per announcement ─

  async loadOpenOutbox(): Promise<OutboxMessage[]> {
    const items = await this.queryAll(this.gsiQuery(keys.outboxOpenPk));
    return items.map(outboxFromItem).filter((m) => m.status === 'pending' || m.status === 'sent');
  }

  async putOutboxMessage(message: OutboxMessage): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: outboxToItem(message, this.claimExpiry(new Date(message.createdAt))),
          // A superseded message never went out: the same announcements may be queued again under its id.
          ConditionExpression: 'attribute_not_exists(pk) OR outboxStatus = :superseded',
          ExpressionAttributeValues: toItem({ ':superseded': 'superseded' }),
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  async getOutboxMessage(id: string): Promise<OutboxMessage | undefined> {
    const out = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: toItem({ pk: keys.outboxPk(id), sk: keys.outboxSk }), ConsistentRead: true }),
    );
    return out.Item ? outboxFromItem(out.Item) : undefined;
  }

  async claimForOutbox(claims: NotificationClaim[], outboxId: string, now: Date): Promise<boolean[]> {
    return mapLimit(claims, this.concurrency, async (c) => {
      try {
        await this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: toItem({
              pk: keys.imagePk(c.image),
              sk: keys.claimSk(c.key),
              type: 'claim',
              image: c.image,
              claimStatus: 'queued',
              outboxId,
              claimedAt: now.toISOString(),
              expiresAt: this.claimExpiry(now),
            }),
            // `claimed` is a claim of the lease-based version before the outbox: taken over once its lease is over.
            ConditionExpression:
              'attribute_not_exists(pk) OR claimStatus = :released OR outboxId = :id OR (claimStatus = :claimed AND claimedAt < :cutoff)',
            ExpressionAttributeValues: toItem({
              ':released': 'released',
              ':id': outboxId,
              ':claimed': 'claimed',
              ':cutoff': new Date(now.getTime() - LEGACY_CLAIM_LEASE_MS).toISOString(),
            }),
          }),
        );
        return true;
      } catch (err) {
        if (err instanceof ConditionalCheckFailedException) return false;
        throw err;
      }
    });
  }

  async releaseClaims(claims: NotificationClaim[], outboxId: string, now: Date): Promise<void> {
    await mapLimit(claims, this.concurrency, async (c) => {
      try {
        await this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: toItem({ pk: keys.imagePk(c.image), sk: keys.claimSk(c.key) }),
            UpdateExpression: 'SET claimStatus = :released, settledAt = :at',
            ConditionExpression: 'outboxId = :id',
            ExpressionAttributeValues: toItem({ ':released': 'released', ':at': now.toISOString(), ':id': outboxId }),
          }),
        );
      } catch (err) {
        // Not ours (or not there): nothing to give back.
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      }
    });
  }

  async leaseOutboxMessage(id: string, runId: string, now: Date, leaseMs: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: toItem({ pk: keys.outboxPk(id), sk: keys.outboxSk }),
          UpdateExpression: 'SET leaseUntil = :until, leaseRunId = :run, attempts = attempts + :one',
          ConditionExpression: 'outboxStatus = :pending AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)',
          ExpressionAttributeValues: toItem({
            ':until': new Date(now.getTime() + leaseMs).toISOString(),
            ':run': runId,
            ':one': 1,
            ':pending': 'pending',
            ':now': now.toISOString(),
          }),
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  async recordPublishFailure(id: string, failure: { error: string; maybeDelivered: boolean }): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: toItem({ pk: keys.outboxPk(id), sk: keys.outboxSk }),
        UpdateExpression: `SET lastError = :error${failure.maybeDelivered ? ', maybeDelivered = :true' : ''} REMOVE leaseUntil`,
        ExpressionAttributeValues: toItem({ ':error': failure.error.slice(0, 1000), ...(failure.maybeDelivered ? { ':true': true } : {}) }),
      }),
    );
  }

  async markOutboxSent(id: string, snsMessageId: string, now: Date): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: toItem({ pk: keys.outboxPk(id), sk: keys.outboxSk }),
        UpdateExpression: 'SET outboxStatus = :sent, snsMessageId = :mid, sentAt = :at REMOVE leaseUntil',
        ExpressionAttributeValues: toItem({ ':sent': 'sent', ':mid': snsMessageId, ':at': now.toISOString() }),
      }),
    );
  }

  async closeOutboxMessage(id: string, status: 'settled' | 'superseded', now: Date): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: toItem({ pk: keys.outboxPk(id), sk: keys.outboxSk }),
        UpdateExpression: 'SET outboxStatus = :status, closedAt = :at REMOVE gsi1pk, gsi1sk, leaseUntil',
        ExpressionAttributeValues: toItem({ ':status': status, ':at': now.toISOString() }),
      }),
    );
  }

  private claimExpiry(now: Date): number {
    return Math.floor(now.getTime() / 1000) + this.claimRetentionDays * DAY_S;
  }

  // ─── Queries for the CLI ─────────────────────────────────────────────────

  async listEvents(query: EventQuery = {}): Promise<DriftEvent[]> {
    const limit = query.limit ?? 100;
    const lo = query.since?.toISOString() ?? '0';
    const hi = (query.until ? query.until.toISOString() : '9999') + '\uffff';
    const filter: Pick<QueryCommandInput, 'FilterExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'> =
      query.status
        ? { FilterExpression: '#to = :status', ExpressionAttributeNames: { '#to': 'to' } }
        : {};
    const statusValue = query.status ? { ':status': query.status } : {};

    if (query.image !== undefined || query.app !== undefined) {
      const pk = query.image !== undefined ? keys.imagePk(query.image) : keys.appPk(query.app ?? '');
      const items = await this.queryAll(
        {
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
          ExpressionAttributeValues: toItem({ ':pk': pk, ':lo': `EVT#${lo}`, ':hi': `EVT#${hi}`, ...statusValue }),
          ScanIndexForward: false,
          ...filter,
        },
        limit,
      );
      let events = items.map(eventFromItem);
      if (query.image !== undefined && query.app !== undefined) {
        const app = query.app;
        events = events.filter((e) => e.apps.includes(app));
      }
      return events.slice(0, limit);
    }

    // Events of every image: month buckets, newest first.
    const now = this.clock();
    const upper = query.until ?? (query.since && query.since > now ? query.since : now);
    const sinceDate = query.since ?? monthsBefore(upper, this.defaultEventMonths);
    const events: DriftEvent[] = [];
    for (const month of monthsDescending(sinceDate, upper)) {
      const items = await this.queryAll(
        {
          TableName: this.tableName,
          IndexName: GSI,
          KeyConditionExpression: 'gsi1pk = :pk AND gsi1sk BETWEEN :lo AND :hi',
          ExpressionAttributeValues: toItem({ ':pk': `EVT#${month}`, ':lo': lo, ':hi': hi, ...statusValue }),
          ScanIndexForward: false,
          ...filter,
        },
        limit - events.length,
      );
      events.push(...items.map(eventFromItem));
      if (events.length >= limit) break;
    }
    return events.slice(0, limit);
  }

  async listOpenDrifts(): Promise<ImageState[]> {
    const items = await this.queryAll(this.gsiQuery(keys.stateOpenPk));
    return items.map(stateFromItem).filter((s) => s.tracked && isOpenDrift(s.status));
  }

  async listRuns(options: { limit?: number } = {}): Promise<RunSummary[]> {
    const limit = options.limit ?? 20;
    const items = await this.queryAll({ ...this.gsiQuery(keys.runsPk), ScanIndexForward: false }, limit);
    return items.map(runFromItem);
  }

  // ─── Plumbing ────────────────────────────────────────────────────────────

  private gsiQuery(pk: string): QueryCommandInput {
    return {
      TableName: this.tableName,
      IndexName: GSI,
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: toItem({ ':pk': pk }),
    };
  }

  private async queryAll(input: QueryCommandInput, max = Infinity): Promise<Item[]> {
    const out: Item[] = [];
    let start: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          ...input,
          ...(start ? { ExclusiveStartKey: start } : {}),
          ...(Number.isFinite(max) ? { Limit: Math.max(1, Math.min(1000, max - out.length)) } : {}),
        }),
      );
      out.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start && out.length < max);
    return out;
  }

  /** BatchWriteItem in chunks of 25, retrying UnprocessedItems with exponential backoff and jitter. */
  private async batchPut(items: Item[]): Promise<void> {
    const chunks: WriteRequest[][] = [];
    for (let i = 0; i < items.length; i += 25) {
      chunks.push(items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })));
    }
    await mapLimit(chunks, 4, async (chunk) => {
      let pending: WriteRequest[] = chunk;
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt >= this.batchMaxAttempts) {
          throw new Error(`BatchWriteItem: ${pending.length} items still unprocessed after ${attempt} attempts`);
        }
        if (attempt > 0) await sleep(backoff(this.batchBaseDelayMs, attempt));
        const out = await this.client.send(
          new BatchWriteItemCommand({ RequestItems: { [this.tableName]: pending } }),
        );
        pending = out.UnprocessedItems?.[this.tableName] ?? [];
      }
    });
  }
}

// ─── Item mapping ───────────────────────────────────────────────────────────

function stateBucket(s: ImageState): { gsi1pk: string; gsi1sk: string } | undefined {
  if (s.tracked) {
    return isOpenDrift(s.status)
      ? { gsi1pk: keys.stateOpenPk, gsi1sk: `${s.since}#${s.image}` }
      : { gsi1pk: keys.stateOkPk, gsi1sk: s.image };
  }
  // Untracked: loaded by every run while it still owes an announcement or has journal events to store.
  return announcementKind(s) !== undefined || (s.journal?.length ?? 0) > 0
    ? { gsi1pk: keys.statePendingPk, gsi1sk: s.image }
    : undefined;
}

function stateToItem(s: ImageState): Item {
  return toItem({
    pk: keys.imagePk(s.image),
    sk: keys.stateSk,
    ...stateBucket(s),
    type: 'state',
    image: s.image,
    status: s.status,
    verifiedStatus: s.verifiedStatus,
    since: s.since,
    statusBeforeUnverified: s.statusBeforeUnverified,
    sinceBeforeUnverified: s.sinceBeforeUnverified,
    tracked: s.tracked,
    untrackedAt: s.untrackedAt,
    firstSeenAt: s.firstSeenAt,
    firstSeenPresentAt: s.firstSeenPresentAt,
    lastDigest: s.lastDigest,
    lastDigestAt: s.lastDigestAt,
    verdict: s.verdict,
    evidence: s.evidence ? JSON.stringify(s.evidence) : undefined,
    hint: s.hint,
    apps: s.apps,
    locations: s.locations.map((l) => ({ file: l.file, line: l.line, ...(l.repo !== undefined ? { repo: l.repo } : {}) })),
    noVerdictRuns: s.noVerdictRuns,
    statusRuns: s.statusRuns,
    noVerdictSince: s.noVerdictSince,
    notifiedStatus: s.notifiedStatus,
    notifiedAt: s.notifiedAt,
    notifiedBy: s.notifiedBy,
    notifiedVersion: s.notifiedVersion,
    statusVersion: s.statusVersion,
    journal: s.journal?.length ? JSON.stringify(s.journal.map(eventToPlain)) : undefined,
    missed: s.missed?.length ? JSON.stringify(s.missed) : undefined,
    version: s.version,
    lastRunId: s.lastRunId,
    updatedAt: s.updatedAt,
  });
}

function locationsOf(o: PlainObject): SourceLocation[] {
  const v = o['locations'];
  if (!Array.isArray(v)) return [];
  const out: SourceLocation[] = [];
  for (const l of v) {
    if (l && typeof l === 'object' && !Array.isArray(l) && typeof l['file'] === 'string' && typeof l['line'] === 'number') {
      out.push({ file: l['file'], line: l['line'], ...(typeof l['repo'] === 'string' ? { repo: l['repo'] } : {}) });
    }
  }
  return out;
}

function journalOf(o: PlainObject): DriftEvent[] | undefined {
  const events = read.json<PlainObject[]>(o, 'journal');
  return events?.length ? events.map(eventFromPlain) : undefined;
}

function stateFromItem(item: Item): ImageState {
  const o = fromItem(item);
  const opt = <K extends keyof ImageState>(key: K, value: ImageState[K] | undefined): Partial<ImageState> =>
    value === undefined ? {} : ({ [key]: value } as Partial<ImageState>);
  return {
    image: read.str(o, 'image') ?? '',
    ...opt('status', read.str(o, 'status') as DriftStatus | undefined),
    ...opt('verifiedStatus', read.str(o, 'verifiedStatus') as DriftStatus | undefined),
    since: read.str(o, 'since') ?? '',
    ...opt('statusBeforeUnverified', read.str(o, 'statusBeforeUnverified') as DriftStatus | undefined),
    ...opt('sinceBeforeUnverified', read.str(o, 'sinceBeforeUnverified')),
    tracked: read.bool(o, 'tracked') ?? true,
    ...opt('untrackedAt', read.str(o, 'untrackedAt')),
    firstSeenAt: read.str(o, 'firstSeenAt') ?? '',
    ...opt('firstSeenPresentAt', read.str(o, 'firstSeenPresentAt')),
    ...opt('lastDigest', read.str(o, 'lastDigest')),
    ...opt('lastDigestAt', read.str(o, 'lastDigestAt')),
    ...opt('verdict', read.str(o, 'verdict') as Verdict | undefined),
    ...opt('evidence', read.json<ImageEvidence>(o, 'evidence')),
    ...opt('hint', read.str(o, 'hint')),
    apps: read.strings(o, 'apps'),
    locations: locationsOf(o),
    noVerdictRuns: read.num(o, 'noVerdictRuns') ?? 0,
    ...opt('statusRuns', read.num(o, 'statusRuns')),
    ...opt('noVerdictSince', read.str(o, 'noVerdictSince')),
    ...opt('notifiedStatus', read.str(o, 'notifiedStatus') as DriftStatus | 'UNTRACKED' | undefined),
    ...opt('notifiedAt', read.str(o, 'notifiedAt')),
    ...opt('notifiedBy', read.str(o, 'notifiedBy')),
    notifiedVersion: read.num(o, 'notifiedVersion') ?? 0,
    statusVersion: read.num(o, 'statusVersion') ?? 0,
    ...opt('journal', journalOf(o)),
    ...opt('missed', read.json<MissedDrift[]>(o, 'missed')),
    version: read.num(o, 'version') ?? 0,
    lastRunId: read.str(o, 'lastRunId') ?? '',
    updatedAt: read.str(o, 'updatedAt') ?? '',
  };
}

function eventToPlain(e: DriftEvent): { [key: string]: Plain | undefined } {
  return {
    type: 'event',
    image: e.image,
    kind: e.kind,
    from: e.from,
    to: e.to,
    at: e.at,
    runId: e.runId,
    commit: e.commit,
    apps: e.apps,
    verdict: e.verdict,
    evidence: e.evidence ? JSON.stringify(e.evidence) : undefined,
    previousDigest: e.previousDigest,
    digest: e.digest,
    reason: e.reason,
    version: e.version,
  };
}

function eventFromItem(item: Item): DriftEvent {
  return eventFromPlain(fromItem(item));
}

function eventFromPlain(o: PlainObject): DriftEvent {
  const e: DriftEvent = {
    image: read.str(o, 'image') ?? '',
    kind: (read.str(o, 'kind') ?? 'STATUS_CHANGED') as EventKind,
    at: read.str(o, 'at') ?? '',
    runId: read.str(o, 'runId') ?? '',
    apps: read.strings(o, 'apps'),
    version: read.num(o, 'version') ?? 0,
  };
  const from = read.str(o, 'from');
  if (from !== undefined) e.from = from as DriftStatus;
  const to = read.str(o, 'to');
  if (to !== undefined) e.to = to as DriftStatus;
  const commit = read.str(o, 'commit');
  if (commit !== undefined) e.commit = commit;
  const verdict = read.str(o, 'verdict');
  if (verdict !== undefined) e.verdict = verdict as Verdict;
  const evidence = read.json<ImageEvidence>(o, 'evidence');
  if (evidence !== undefined) e.evidence = evidence;
  const previousDigest = read.str(o, 'previousDigest');
  if (previousDigest !== undefined) e.previousDigest = previousDigest;
  const digest = read.str(o, 'digest');
  if (digest !== undefined) e.digest = digest;
  const reason = read.str(o, 'reason');
  if (reason !== undefined) e.reason = reason;
  return e;
}

function outboxToItem(m: OutboxMessage, expiresAt: number): Item {
  const open = m.status === 'pending' || m.status === 'sent';
  return toItem({
    pk: keys.outboxPk(m.id),
    sk: keys.outboxSk,
    ...(open ? { gsi1pk: keys.outboxOpenPk, gsi1sk: `${m.createdAt}#${m.id}` } : {}),
    type: 'outbox',
    id: m.id,
    outboxStatus: m.status,
    subject: m.subject,
    message: m.message,
    attributes: JSON.stringify(m.attributes),
    changes: JSON.stringify(m.changes),
    runId: m.runId,
    createdAt: m.createdAt,
    attempts: m.attempts,
    maybeDelivered: m.maybeDelivered,
    lastError: m.lastError,
    leaseUntil: m.leaseUntil,
    snsMessageId: m.snsMessageId,
    sentAt: m.sentAt,
    expiresAt,
  });
}

function outboxFromItem(item: Item): OutboxMessage {
  const o = fromItem(item);
  const m: OutboxMessage = {
    id: read.str(o, 'id') ?? '',
    status: (read.str(o, 'outboxStatus') ?? 'pending') as OutboxStatus,
    subject: read.str(o, 'subject') ?? '',
    message: read.str(o, 'message') ?? '',
    attributes: read.json<OutboxMessage['attributes']>(o, 'attributes') ?? {},
    changes: read.json<OutboxMessage['changes']>(o, 'changes') ?? [],
    runId: read.str(o, 'runId') ?? '',
    createdAt: read.str(o, 'createdAt') ?? '',
    attempts: read.num(o, 'attempts') ?? 0,
    maybeDelivered: read.bool(o, 'maybeDelivered') ?? false,
  };
  const lastError = read.str(o, 'lastError');
  if (lastError !== undefined) m.lastError = lastError;
  const leaseUntil = read.str(o, 'leaseUntil');
  if (leaseUntil !== undefined) m.leaseUntil = leaseUntil;
  const snsMessageId = read.str(o, 'snsMessageId');
  if (snsMessageId !== undefined) m.snsMessageId = snsMessageId;
  const sentAt = read.str(o, 'sentAt');
  if (sentAt !== undefined) m.sentAt = sentAt;
  return m;
}

function runFromItem(item: Item): RunSummary {
  const o = fromItem(item);
  const counts: Record<string, number> = {};
  const c = o['counts'];
  if (c && typeof c === 'object' && !Array.isArray(c)) {
    for (const [k, v] of Object.entries(c)) if (typeof v === 'number') counts[k] = v;
  }
  const run: RunSummary = {
    runId: read.str(o, 'runId') ?? '',
    repository: read.str(o, 'repository') ?? '',
    startedAt: read.str(o, 'startedAt') ?? '',
    durationMs: read.num(o, 'durationMs') ?? 0,
    counts,
    images: read.num(o, 'images') ?? 0,
    transitions: read.num(o, 'transitions') ?? 0,
    errors: read.strings(o, 'errors'),
    expiresAt: read.num(o, 'expiresAt') ?? 0,
  };
  const commit = read.str(o, 'commit');
  if (commit !== undefined) run.commit = commit;
  const n = o['notification'];
  if (n && typeof n === 'object' && !Array.isArray(n)) {
    run.notification = {
      sent: n['sent'] === true,
      messageIds: Array.isArray(n['messageIds']) ? n['messageIds'].filter((x): x is string => typeof x === 'string') : [],
      ...(typeof n['error'] === 'string' ? { error: n['error'] } : {}),
    };
  }
  return run;
}

// ─── Helpers ────────────────────────────────────────────────────────────────

function monthsBefore(d: Date, months: number): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - months, 1));
}

/** `YYYY-MM` buckets from the month of `until` back to the month of `since`. */
export function monthsDescending(since: Date, until: Date): string[] {
  const out: string[] = [];
  let y = until.getUTCFullYear();
  let m = until.getUTCMonth();
  const stop = since.getUTCFullYear() * 12 + since.getUTCMonth();
  while (y * 12 + m >= stop && out.length < 1200) {
    out.push(`${y}-${String(m + 1).padStart(2, '0')}`);
    m -= 1;
    if (m < 0) {
      m = 11;
      y -= 1;
    }
  }
  return out;
}

function backoff(baseMs: number, attempt: number): number {
  const cap = Math.min(2000, baseMs * 2 ** attempt);
  return cap / 2 + Math.random() * (cap / 2);
}

/**
 * Creates the history table from HISTORY_TABLE_DESIGN when it does not exist (local store, tests).
 * TTL is enabled when the endpoint supports it (dynalite does not: tolerated).
 */
export async function ensureHistoryTable(client: DynamoDBClient, tableName: string = HISTORY_TABLE_DESIGN.defaultTableName): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return;
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException)) throw err;
  }
  const d = HISTORY_TABLE_DESIGN;
  const attrs = new Map<string, 'S'>();
  attrs.set(d.partitionKey.name, d.partitionKey.type);
  attrs.set(d.sortKey.name, d.sortKey.type);
  for (const g of d.globalSecondaryIndexes) {
    attrs.set(g.partitionKey.name, g.partitionKey.type);
    attrs.set(g.sortKey.name, g.sortKey.type);
  }
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: d.billingMode,
        AttributeDefinitions: [...attrs].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })),
        KeySchema: [
          { AttributeName: d.partitionKey.name, KeyType: 'HASH' },
          { AttributeName: d.sortKey.name, KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: d.globalSecondaryIndexes.map((g) => ({
          IndexName: g.indexName,
          KeySchema: [
            { AttributeName: g.partitionKey.name, KeyType: 'HASH' },
            { AttributeName: g.sortKey.name, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: g.projection.type },
        })),
      }),
    );
  } catch (err) {
    // Another process created it between our describe and create.
    if (!(err instanceof ResourceInUseException)) throw err;
  }
  for (let i = 0; i < 100; i++) {
    const out = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (out.Table?.TableStatus === 'ACTIVE') break;
    await sleep(100);
  }
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: d.timeToLiveAttribute, Enabled: true },
      }),
    );
  } catch {
    // dynalite has no UpdateTimeToLive (UnknownOperationException); expired items then simply stay.
  }
}
