import { expect } from 'vitest';
import { loadYamlDocuments, type LoadYamlOptions, type YamlDocument } from '../../lambdas/engine/yaml/index.js';
import { createStringPool, fastParseYaml } from '../../lambdas/engine/yaml/fast-path.js';

/** Every path to every node of a value, containers included. */
export function allPaths(value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((item, i) => allPaths(item, [...prefix, i], out));
  else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) allPaths(v, [...prefix, k], out);
  return out;
}

export function describeDocuments(documents: YamlDocument[]) {
  return documents.map((d) => ({
    index: d.index,
    startLine: d.startLine,
    value: d.value,
    lines: allPaths(d.value).map((p) => [p.join('/'), d.lineOf(p)]),
    missing: d.lineOf([...allPaths(d.value).at(-1)!, 'no-such-key']),
  }));
}

/** Holds the fast path to the `yaml` package (values, every node's line, findings); true when the fast path took the file. */
export function expectSameAsFullParser(text: string, file = 'x.yaml', options: LoadYamlOptions = {}): boolean {
  const fast = loadYamlDocuments(file, text, options);
  const full = loadYamlDocuments(file, text, { ...options, fastPath: false });
  expect(fast.findings).toEqual(full.findings);
  expect(describeDocuments(fast.documents)).toEqual(describeDocuments(full.documents));
  // With a string pool (what the resolver's per-tree cache passes), values are the same too.
  const pooled = loadYamlDocuments(file, text, { ...options, strings: createStringPool() });
  expect(pooled.findings).toEqual(full.findings);
  expect(describeDocuments(pooled.documents)).toEqual(describeDocuments(full.documents));
  return fastParseYaml(text, undefined, options.maxAliasCount) !== undefined;
}
