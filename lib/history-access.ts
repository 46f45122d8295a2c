/**
 * The function's access to the history table: exactly the DynamoDB actions the deployed code calls
 * (HISTORY_TABLE_ACTIONS), on the table, and queries on its one named index; no `index/*`, no Scan or
 * DeleteItem. Works for a table this stack creates and for one given as `historyTable`.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { HISTORY_INDEX_ACTIONS, HISTORY_TABLE_ACTIONS } from '../lambdas/engine/history/table-actions.js';
import { HISTORY_TABLE_DESIGN } from '../lambdas/engine/history/table-design.js';

export function grantHistoryAccess(grantee: iam.IGrantable, table: dynamodb.ITable): void {
  iam.Grant.addToPrincipal({ grantee, actions: [...HISTORY_TABLE_ACTIONS], resourceArns: [table.tableArn] });
  iam.Grant.addToPrincipal({
    grantee,
    actions: [...HISTORY_INDEX_ACTIONS],
    resourceArns: HISTORY_TABLE_DESIGN.globalSecondaryIndexes.map((index) => `${table.tableArn}/index/${index.indexName}`),
  });
  // A table encrypted with a customer managed key (an attached one may be): reading and writing needs the key too.
  table.encryptionKey?.grantEncryptDecrypt(grantee);
}
