import { describe, expect, it } from 'vitest';
import { DynamoHistoryStore } from '../../lambdas/engine/history/dynamodb.js';
import { trackDrift } from '../../lambdas/engine/history/index.js';
import type { ImageState } from '../../lambdas/engine/history/types.js';

import { result, uniqueImage } from './fixtures.js';
import { historyHarness, useLocalAwsServers } from './harness.js';

const servers = useLocalAwsServers();

/** The store, except that writing the state of `image` fails (throttling, an outage). */
class StateWriteFails extends DynamoHistoryStore {
  constructor(
    base: DynamoHistoryStore,
    private readonly image: string,
  ) {
    super({ client: servers.ddb, tableName: base.tableName });
  }
  override async putState(next: ImageState): Promise<boolean> {
    if (next.image === this.image) throw new Error('ProvisionedThroughputExceededException: injected');
    return super.putState(next);
  }
}

describe('trackDrift result errors', () => {
  it('returns the history write failures it recorded in the run summary, without repeating the input errors', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const ok = uniqueImage('ok');
    const broken = uniqueImage('broken');
    const out = await trackDrift(
      { runId: 'r1', repository: 'org/gitops', startedAt: h.now(), durationMs: 1, results: [result(ok, 'OK'), result(broken, 'OK')], errors: ['org/gitops: input error'] },
      { store: new StateWriteFails(h.store, broken), clock: h.now },
    );
    expect(out.errors).toEqual([expect.stringMatching(new RegExp(`^history: ${broken.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*injected`))]);
    const [run] = await h.store.listRuns({ limit: 1 });
    expect(run?.errors).toEqual(['org/gitops: input error', ...out.errors]);
    expect(out.transitions.map((t) => t.image)).toEqual([ok]);
    h.close();
  });

  it('returns no errors for a clean run', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const out = await h.run('r1', [result(uniqueImage(), 'OK')]);
    expect(out.errors).toEqual([]);
    h.close();
  });
});
