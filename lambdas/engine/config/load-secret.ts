/**
 * Reads the auditor secret from Secrets Manager (deployed runs only; the CLI uses the environment).
 * The AWS SDK v3 comes from the Lambda runtime (the bundle excludes @aws-sdk/*).
 */
import { GetSecretValueCommand, type GetSecretValueCommandOutput } from '@aws-sdk/client-secrets-manager';
import { CredentialError, parseAuditorSecret, type AuditorSecret } from './secret.js';

/** The one call we make; a SecretsManagerClient fits, and so does a test double. */
export interface SecretValueReader {
  send(command: GetSecretValueCommand): Promise<Pick<GetSecretValueCommandOutput, 'SecretString'>>;
}

/** Fetches and validates the secret. An empty secret (`{}`, as deployed) is valid: every registry is then anonymous. */
export async function loadAuditorSecret(client: SecretValueReader, secretArn: string): Promise<AuditorSecret> {
  let text: string | undefined;
  try {
    const output = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
    text = output.SecretString;
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new CredentialError(`cannot read secret ${secretArn}: ${reason}`);
  }
  return parseAuditorSecret(text, `secret ${secretArn}`);
}
