/**
 * The deployed auditor with several repositories: the part of one repository's desired state that could not be read
 * travels through the run parts (dynalite) to the digest step, which holds the images desired there and still closes
 * what another repository, read in full, no longer desires.
 */
import { describe, expect, it } from 'vitest';
import { DynamoHistoryStore, ensureHistoryTable } from '../../lambdas/engine/history/dynamodb.js';
import { parseConfig } from '../../lambdas/engine/config/schema.js';
import type { UnknownScope } from '../../lambdas/engine/model.js';
import { recordRun, type RepositoryAudit } from '../../lambdas/engine/scheduled/index.js';
import { DynamoRunPartsStore } from '../../lambdas/engine/scheduled/parts-dynamodb.js';
import { result, uniqueImage } from '../history/fixtures.js';
import { T0, useLocalAwsServers } from '../history/harness.js';

const servers = useLocalAwsServers();
const config = parseConfig({ repositories: [{ repo: 'acme/a' }, { repo: 'acme/b' }] });
const OVERLAY = 'overlays/dev/kustomization.yaml';

function audit(index: number, repo: string, results: RepositoryAudit['results'], unknown?: UnknownScope): RepositoryAudit {
  return { index, repo, images: results.length, failing: 0, results, counts: {}, findings: 0, ...(unknown ? { unknown } : {}) };
}

describe('recordRun over several repositories, one of them read in part', () => {
  it('holds the drift of the unknown app, closes what an app of the other repository, resolved in full, dropped, and reports the run incomplete', async () => {
    const tableName = `unknown-parts-${process.pid}`;
    await ensureHistoryTable(servers.ddb, tableName);
    let now = T0;
    const clock = () => now;
    const store = new DynamoHistoryStore({ client: servers.ddb, tableName, clock });
    const parts = new DynamoRunPartsStore({ client: servers.ddb, tableName, clock });
    const dev = uniqueImage('a-dev');
    const dropped = uniqueImage('b-dropped');
    const kept = uniqueImage('b-kept');
    const devResult = result(dev, 'TAG_MISSING', { apps: ['dev'], file: OVERLAY });
    const droppedResult = result(dropped, 'TAG_MISSING', { apps: ['api'], file: 'deploy/api.yaml' });

    await recordRun({ runId: 'r1', startedAt: now, config, audits: [audit(0, 'acme/a', [devResult]), audit(1, 'acme/b', [droppedResult])] }, { store, clock });

    now = new Date(T0.getTime() + 3_600_000);
    const unknown: UnknownScope = { apps: [{ name: 'dev', cause: `YAML_ERROR at ${OVERLAY}:5` }], files: [{ file: OVERLAY }], resolvedApps: ['web'] };
    await parts.putPart('r2', audit(0, 'acme/a', [], unknown));
    // acme/b still renders app api, without the dropped image.
    await parts.putPart('r2', audit(1, 'acme/b', [result(kept, 'OK', { apps: ['api'], file: 'deploy/api.yaml' })]));
    const second = await recordRun({ runId: 'r2', startedAt: now, config, audits: await parts.listParts('r2') }, { store, clock });

    expect(second.summary.repositories).toEqual([
      expect.objectContaining({ repo: 'acme/a', unknownApps: ['dev'] }),
      expect.not.objectContaining({ unknownApps: expect.anything() }),
    ]);
    expect(second.summary.errors).toEqual([expect.stringContaining('acme/a: the desired state could not be resolved in full: 1 app is unknown (dev: YAML_ERROR at overlays/dev/kustomization.yaml:5)')]);
    expect(await store.getState(dev)).toMatchObject({ tracked: true, status: 'NEVER_PUSHED' });
    expect(second.driftErrors).toEqual([]);
    expect(await store.getState(dropped)).toMatchObject({ tracked: false });
    expect((await store.listEvents({ image: dev })).map((event) => event.kind)).toEqual(['TRACKED']);
  });
});
