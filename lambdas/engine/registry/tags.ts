/**
 * Tag listing, for hints only (nearest tags, most recent): never to judge whether a tag exists. Follows
 * `Link: <…>; rel="next"` as the spec asks; GHCR gets `n=10000` (it returns 100 per page otherwise).
 */
import * as z from '../zod.js';

const tagsPage = z.object({
  name: z.optional(z.string()),
  tags: z.optional(z.nullable(z.array(z.string()))),
});

export function parseTagsPage(body: string): string[] | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  const parsed = tagsPage.safeParse(json);
  return parsed.success ? (parsed.data.tags ?? []) : undefined;
}

/** The `rel="next"` target of a Link header, resolved against `base`; undefined when there is none. */
export function nextPageUrl(link: string | undefined, base: URL): URL | undefined {
  if (!link) return undefined;
  for (const part of link.split(/,(?=\s*<)/)) {
    const m = /<([^>]*)>\s*;(.*)$/s.exec(part.trim());
    if (!m?.[1]) continue;
    if (!/rel\s*=\s*"?next"?/i.test(m[2] ?? '')) continue;
    try {
      const next = new URL(m[1], base);
      // Never follow a Link to another origin: the token would travel with it.
      return next.origin === base.origin ? next : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
