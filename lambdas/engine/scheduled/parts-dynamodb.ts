/**
 * RunPartsStore in the history table: each repository's audit waits there for the digest step.
 *
 *   pk = RUN#<runId>   sk = PART#<index, 5 digits>#<chunk, 3 digits>   data = gzip(JSON) ≤ 300 KB   expiresAt = TTL
 *
 * A repository with thousands of images does not fit one item (400 KB), nor a Step Functions payload
 * (256 KB): its gzipped JSON is split over as many items as needed. The parts share the run summary's
 * partition (`RUN#<runId>`, sort key `RUN`) and expire after `retentionHours`.
 * Calls: PutItem and Query on the table (see lib/ least-privilege grant and HISTORY_TABLE_ACTIONS).
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { PutItemCommand, QueryCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as z from '../zod.js';
import { keys } from '../history/table-design.js';
import type { AuditResult } from '../model.js';
import type { RepositoryAudit, RunPartsStore } from './index.js';

const CHUNK_BYTES = 300 * 1024;
const PART_PREFIX = 'PART#';

const StoredAuditSchema = z.object({
  index: z.int().check(z.minimum(0)),
  repo: z.string(),
  commit: z.optional(z.string()),
  images: z.int().check(z.minimum(0)),
  failing: z.int().check(z.minimum(0)),
  error: z.optional(z.string()),
  counts: z.record(z.string(), z.number()),
  findings: z.int().check(z.minimum(0)),
  // Written by auditRepository a few minutes earlier, by this same code: the shape is checked, not re-validated.
  results: z.array(z.looseObject({ image: z.string(), status: z.string() })),
  // What the repository's desired state could not read (history holds it); parts written before it existed have none.
  unknown: z.optional(
    z.object({
      apps: z.array(z.object({ name: z.string(), cause: z.string() })),
      files: z.array(z.object({ file: z.string(), repo: z.optional(z.string()) })),
      resolvedApps: z.array(z.string()),
      whole: z.optional(z.literal(true)),
    }),
  ),
});

export interface DynamoRunPartsStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  /** Hours a part is kept (TTL). Default 48: a digest runs minutes after the parts are written. */
  retentionHours?: number;
  clock?: () => Date;
}

export class DynamoRunPartsStore implements RunPartsStore {
  private readonly retentionHours: number;
  private readonly clock: () => Date;

  constructor(private readonly options: DynamoRunPartsStoreOptions) {
    this.retentionHours = options.retentionHours ?? 48;
    this.clock = options.clock ?? (() => new Date());
  }

  async putPart(runId: string, audit: RepositoryAudit): Promise<void> {
    const data = gzipSync(Buffer.from(JSON.stringify(audit)));
    const chunks = Math.max(1, Math.ceil(data.length / CHUNK_BYTES));
    const expiresAt = Math.floor(this.clock().getTime() / 1000) + this.retentionHours * 3600;
    for (let chunk = 0; chunk < chunks; chunk++) {
      await this.options.client.send(
        new PutItemCommand({
          TableName: this.options.tableName,
          Item: {
            pk: { S: keys.runPk(runId) },
            sk: { S: partSk(audit.index, chunk) },
            type: { S: 'part' },
            chunks: { N: String(chunks) },
            data: { B: data.subarray(chunk * CHUNK_BYTES, (chunk + 1) * CHUNK_BYTES) },
            expiresAt: { N: String(expiresAt) },
          },
        }),
      );
    }
  }

  async listParts(runId: string): Promise<RepositoryAudit[]> {
    const items: Record<string, AttributeValue>[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.options.client.send(
        new QueryCommand({
          TableName: this.options.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :part)',
          ExpressionAttributeValues: { ':pk': { S: keys.runPk(runId) }, ':part': { S: PART_PREFIX } },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);

    // Sort keys order the chunks of each part; a part is complete when all its chunks are there.
    const byIndex = new Map<string, { chunks: number; data: Uint8Array[] }>();
    for (const item of items) {
      const [, index = ''] = (item['sk']?.S ?? '').split('#');
      const entry = byIndex.get(index) ?? { chunks: Number(item['chunks']?.N ?? '1'), data: [] };
      if (item['data']?.B) entry.data.push(item['data'].B);
      byIndex.set(index, entry);
    }
    const audits: RepositoryAudit[] = [];
    for (const [index, entry] of byIndex) {
      if (entry.data.length !== entry.chunks) {
        throw new Error(`run ${runId}: part ${index} has ${entry.data.length} of ${entry.chunks} chunks`);
      }
      const parsed = StoredAuditSchema.parse(JSON.parse(gunzipSync(Buffer.concat(entry.data)).toString('utf8')));
      audits.push({ ...parsed, results: parsed.results as unknown as AuditResult[] } as RepositoryAudit);
    }
    return audits.sort((a, b) => a.index - b.index);
  }
}

function partSk(index: number, chunk: number): string {
  return `${PART_PREFIX}${String(index).padStart(5, '0')}#${String(chunk).padStart(3, '0')}`;
}
