/**
 * Why a credential could not be had: the helper is missing, the cloud said no, the token service timed out.
 * The audit goes on anonymously and the verdict says which credential failed and how (errors are data).
 */

export interface CredentialProblem {
  /**
   * `denied`: the credential source refused us (IAM AccessDenied); `unavailable`: nothing to use (no helper on
   * PATH, no AWS credentials, a helper error); `transient`: the source did not answer (timeout, network).
   */
  kind: 'denied' | 'unavailable' | 'transient';
  /** Where we tried: `docker-credential-ecr-login`, `aws ecr:GetAuthorizationToken`... */
  source: string;
  message: string;
  /** The IAM action (or permission) that was missing, when the refusal names one. */
  missingPermission?: string;
}

/**
 * Strips what looks like a credential from text that came from outside (a helper's error, a cloud error
 * message, a registry that echoes request headers): Authorization header values, Basic/Bearer tokens,
 * `password=`/`token=` pairs and JWTs.
 */
export function redactCredentialText(text: string): string {
  return text
    .replace(/(authorization\s*[:=]\s*)("?)[^"\r\n,]+/gi, '$1$2[redacted]')
    .replace(/\b(Basic|Bearer)\s+[A-Za-z0-9+/=._~-]{8,}/g, '$1 [redacted]')
    .replace(/\b(password|passwd|secret|token|access_token|refresh_token)(["']?\s*[:=]\s*["']?)[^\s"'&,}]+/gi, '$1$2[redacted]')
    .replace(/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, '[redacted-jwt]');
}
