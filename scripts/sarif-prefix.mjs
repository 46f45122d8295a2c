#!/usr/bin/env node
/**
 * Used by action.yml: prefixes the relative artifact URIs of a SARIF log with the audited directory, so that code
 * scanning (which resolves them from the repository root) finds the files when the action's `path` is not `.`.
 *   node scripts/sarif-prefix.mjs <sarif-file> <path>
 * Plain JavaScript with no dependencies: it runs from the action's directory without an install.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { posix } from 'node:path';

export function prefixSarifUris(sarif, dir) {
  const prefix = posix.normalize(dir.replaceAll('\\', '/')).replace(/^\.\/?/, '').replace(/\/+$/, '');
  if (!prefix || prefix === '.') return sarif;
  const encoded = prefix.split('/').map(encodeURIComponent).join('/');
  const walk = (node) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    const location = node.artifactLocation;
    if (location && typeof location.uri === 'string' && !/^[a-z][a-z0-9+.-]*:/i.test(location.uri) && !location.uri.startsWith('/')) {
      location.uri = `${encoded}/${location.uri}`;
    }
    for (const value of Object.values(node)) walk(value);
  };
  walk(sarif);
  return sarif;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop())) {
  const [file, dir] = process.argv.slice(2);
  if (!file || dir === undefined) {
    console.error('usage: sarif-prefix.mjs <sarif-file> <path>');
    process.exit(2);
  }
  writeFileSync(file, `${JSON.stringify(prefixSarifUris(JSON.parse(readFileSync(file, 'utf8')), dir), null, 2)}\n`);
}
