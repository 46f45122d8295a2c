import { parseImageReference } from '../../lambdas/engine/reference/index.js';
import type { ImageReference } from '../../lambdas/engine/model.js';

/** A parsed image reference for a test; a reference the parser refuses is a bug in the test itself. */
export function ref(text: string): ImageReference {
  const p = parseImageReference(text);
  if (!p.ok) throw new Error(`bad reference in test: ${text}`);
  return p.ref;
}
