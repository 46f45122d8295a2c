/**
 * The DynamoDB actions the deployed function calls on the history table, and on its index: the CDK
 * construct grants exactly these (lib/history-access.ts). test/cdk/history-actions.test.ts reads the
 * commands the Lambda's code sends and fails when this list is missing one or holds one nobody sends.
 * Table management (CreateTable, DescribeTable, UpdateTimeToLive in ensureHistoryTable) is for the
 * embedded local store only; the deployed table is created by CloudFormation.
 */
export const HISTORY_TABLE_ACTIONS = [
  'dynamodb:BatchWriteItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:Query',
  'dynamodb:UpdateItem',
] as const;

/** Only queries read the global secondary index. */
export const HISTORY_INDEX_ACTIONS = ['dynamodb:Query'] as const;
