/**
 * Hints for humans: nearest tags by name, most recent tags, "did you mean" repositories. Hints never decide a
 * verdict; they only make the fix obvious ("CI pushes <sha> and latest, the manifests want dev-latest").
 */
import { distance } from 'fastest-levenshtein';

/** Up to `limit` tags closest to `wanted` by edit distance (ties: shorter first, then by name). */
export function nearestTags(wanted: string, tags: readonly string[], limit = 3): string[] {
  const unique = [...new Set(tags)].filter((t) => t !== wanted);
  const w = wanted.toLowerCase();
  return unique
    .map((t) => {
      const tl = t.toLowerCase();
      // Containment ("dev-latest" vs "latest") is a strong signal edit distance undervalues.
      const contains = tl.includes(w) || w.includes(tl) ? -0.5 : 0;
      return { t, d: distance(w, tl) / Math.max(w.length, tl.length, 1) + contains };
    })
    .sort((a, b) => a.d - b.d || a.t.length - b.t.length || a.t.localeCompare(b.t))
    .slice(0, limit)
    .map((x) => x.t);
}

export interface Candidate {
  /** `owner/name` as it would appear in the image. */
  repository: string;
  /** Why it is a candidate, spelled out. */
  why: string;
}

const separators = (s: string) => s.replace(/[-_.]/g, '');

/**
 * "Did you mean" candidates for a missing `owner/name` among the owner's package names (which may be nested:
 * `team/app`). Case and separator differences and a different path prefix are spelled out.
 */
export function repositoryCandidates(owner: string, name: string, packageNames: readonly string[], limit = 3): Candidate[] {
  const want = name.toLowerCase();
  const lastSegment = (s: string) => s.split('/').pop() ?? s;
  const scored = packageNames
    .filter((p) => p.toLowerCase() !== want || p !== name)
    .map((p) => {
      const pl = p.toLowerCase();
      let why: string | undefined;
      let score: number;
      if (pl === want) {
        why = `package "${p}" differs only in case; image paths must be lower case`;
        score = 0;
      } else if (separators(pl) === separators(want)) {
        why = `package "${p}" differs only in separators (- _ .)`;
        score = 0.1;
      } else if (lastSegment(pl) === lastSegment(want)) {
        why = `package "${p}" has the same name under a different path`;
        score = 0.2;
      } else {
        score = distance(want, pl) / Math.max(want.length, pl.length, 1);
        if (score <= 0.5) why = `package "${p}" has a similar name`;
      }
      return { p, why, score };
    })
    .filter((x): x is { p: string; why: string; score: number } => x.why !== undefined && x.p !== name)
    .sort((a, b) => a.score - b.score || a.p.localeCompare(b.p));
  return scored.slice(0, limit).map((x) => ({ repository: `${owner}/${x.p}`, why: x.why }));
}
