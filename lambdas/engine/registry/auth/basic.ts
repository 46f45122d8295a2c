/** HTTP Basic for registries that answer `WWW-Authenticate: Basic` (htpasswd-style), and for token requests. */
import type { RegistryCredential } from '../credentials.js';

export function basicAuthorization(credential: RegistryCredential): string {
  return `Basic ${Buffer.from(`${credential.username}:${credential.secret.reveal()}`, 'utf8').toString('base64')}`;
}
