/** Parses `WWW-Authenticate` headers: `Bearer realm="…",service="…",scope="…"` and `Basic realm="…"`. */

export interface AuthChallenge {
  scheme: 'bearer' | 'basic' | 'other';
  params: Record<string, string>;
}

export function parseWwwAuthenticate(header: string | undefined): AuthChallenge | undefined {
  if (!header) return undefined;
  const m = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(header);
  if (!m?.[1]) return undefined;
  const schemeName = m[1].toLowerCase();
  const scheme = schemeName === 'bearer' ? 'bearer' : schemeName === 'basic' ? 'basic' : 'other';
  const params: Record<string, string> = {};
  const re = /([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g;
  const rest = m[2] ?? '';
  let p: RegExpExecArray | null;
  while ((p = re.exec(rest))) {
    const key = p[1];
    if (key) params[key.toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme, params };
}
