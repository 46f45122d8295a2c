/**
 * The function's DynamoDB grant (HISTORY_TABLE_ACTIONS) against the code: every DynamoDB command the deployed
 * code sends is granted, and every granted action is sent somewhere. Reads the sources the Lambda bundles
 * (lambdas/, without the CLI's embedded store) for `new <Name>Command(` of @aws-sdk/client-dynamodb.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HISTORY_INDEX_ACTIONS, HISTORY_TABLE_ACTIONS } from '../../lambdas/engine/history/table-actions.js';

const LAMBDAS = fileURLToPath(new URL('../../lambdas/', import.meta.url));
/** Only the CLI's embedded dynalite store creates tables; the deployed table comes from CloudFormation. */
const TABLE_MANAGEMENT = new Set(['CreateTable', 'DescribeTable', 'UpdateTimeToLive']);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Commands each file sends: `new XCommand(` where X is imported from @aws-sdk/client-dynamodb. */
function dynamoCommands(): Map<string, string[]> {
  const byCommand = new Map<string, string[]>();
  for (const file of sources(LAMBDAS)) {
    const text = readFileSync(file, 'utf8');
    const imports = [...text.matchAll(/import\s*\{([^}]*)\}\s*from\s*'@aws-sdk\/client-dynamodb'/g)].flatMap((m) =>
      (m[1] ?? '').split(',').map((name) => name.trim().replace(/^type\s+/, '')),
    );
    for (const match of text.matchAll(/new\s+(\w+)Command\s*\(/g)) {
      const name = match[1] ?? '';
      if (!imports.includes(`${name}Command`)) continue;
      byCommand.set(name, [...(byCommand.get(name) ?? []), relative(LAMBDAS, file)]);
    }
  }
  return byCommand;
}

describe('DynamoDB grant of the audit function', () => {
  const sent = dynamoCommands();
  const deployed = [...sent.keys()].filter((name) => !TABLE_MANAGEMENT.has(name)).map((name) => `dynamodb:${name}`).sort();

  it('covers every command the deployed code sends, and grants none it does not send', () => {
    expect(deployed.length).toBeGreaterThan(3);
    expect([...HISTORY_TABLE_ACTIONS].sort()).toEqual(deployed);
  });

  it('sends table-management commands only from ensureHistoryTable, which the Lambda never calls', () => {
    for (const name of TABLE_MANAGEMENT) {
      for (const file of sent.get(name) ?? []) expect(file).toBe('engine/history/dynamodb.ts');
    }
    for (const file of sources(join(LAMBDAS, 'audit')).concat(sources(join(LAMBDAS, 'engine', 'scheduled')))) {
      expect(readFileSync(file, 'utf8')).not.toContain('ensureHistoryTable');
    }
  });

  it('lets the index only be queried', () => {
    expect([...HISTORY_INDEX_ACTIONS]).toEqual(['dynamodb:Query']);
  });
});
