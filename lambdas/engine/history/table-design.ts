/**
 * The history table's physical design, as a plain object (no AWS import) so that
 * lib/ (CDK) and the embedded local store create the same table.
 * See docs/history-table.md for the access patterns and item layouts.
 */
export const HISTORY_TABLE_DESIGN = {
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  billingMode: 'PAY_PER_REQUEST',
  globalSecondaryIndexes: [
    {
      /** Overloaded: states by open/ok/pending, events by month, runs by start time, open outbox messages. */
      indexName: 'gsi1',
      partitionKey: { name: 'gsi1pk', type: 'S' },
      sortKey: { name: 'gsi1sk', type: 'S' },
      projection: { type: 'ALL' },
    },
  ],
  /** Epoch seconds; set on run summaries, notification claims and outbox messages. */
  timeToLiveAttribute: 'expiresAt',
  /** Default name when none is configured (local store, tests). */
  defaultTableName: 'image-drift-history',
} as const;

export type HistoryTableDesign = typeof HISTORY_TABLE_DESIGN;

/** Key builders shared by the store and the docs. */
export const keys = {
  imagePk: (image: string) => `IMG#${image}`,
  stateSk: 'STATE',
  imageEventSk: (at: string, version: number, kind: string) => `EVT#${at}#v${pad(version)}#${kind}`,
  appPk: (app: string) => `APP#${app}`,
  appEventSk: (at: string, image: string, version: number, kind: string) => `EVT#${at}#${image}#v${pad(version)}#${kind}`,
  eventsMonthPk: (at: string) => `EVT#${at.slice(0, 7)}`,
  eventsMonthSk: (at: string, image: string, version: number, kind: string) => `${at}#${image}#v${pad(version)}#${kind}`,
  runPk: (runId: string) => `RUN#${runId}`,
  runSk: 'RUN',
  runsPk: 'RUNS',
  runsSk: (startedAt: string, runId: string) => `${startedAt}#${runId}`,
  claimSk: (key: string) => `NOTE#${key}`,
  outboxPk: (id: string) => `OUTBOX#${id}`,
  outboxSk: 'MSG',
  outboxOpenPk: 'OUTBOX#OPEN',
  stateOpenPk: 'STATE#OPEN',
  stateOkPk: 'STATE#OK',
  statePendingPk: 'STATE#PENDING',
} as const;

export function pad(n: number): string {
  return String(n).padStart(8, '0');
}
