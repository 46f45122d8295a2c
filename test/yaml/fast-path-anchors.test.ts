import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadYamlDocuments } from '../../lambdas/engine/yaml/index.js';
import { fastParseYaml } from '../../lambdas/engine/yaml/fast-path.js';
import { expectSameAsFullParser } from '../support/yaml-differential.js';

/** Anchors and aliases the fast path takes, with the `yaml` package's values, lines and findings. */
const ON_FAST_PATH: string[] = [
  // Scalar anchors in mappings and sequences (app-template's `&port`, a DNSEndpoint's `&vps_ip`).
  'env:\n  HTTP_PORT: &port 8080\n  NAME: &name "web"\nservice:\n  port: *port   # comment\n  name: *name\n',
  'targets:\n  - &vps_ip 1.2.3.4\n  - *vps_ip\n  - other\nmore:\n- *vps_ip\n',
  // Anchored mappings and sequences aliased elsewhere, block and flow, on the key's line or below it.
  'a: &m\n  k: v\n  n: [1, 2]\nb: *m\nc: x\n',
  'a: &m # comment\n\n  k: v\nb: *m\n',
  'a: &s\n- 1\n- two\nb: *s\nc:\n  - *s\n',
  'a: &f [1, {z: 2}]\nb: *f\nc: &g {x: [y]}\nd: [*g, *f]\n',
  'list:\n- &item\n  name: a\n  value: 1\n- *item\n- &t x\n- *t\n',
  // Aliases as image values, and an image inside an aliased mapping (its line is the original's).
  'containers:\n- name: a\n  image: &img ghcr.io/acme/app:1.0\n- name: b\n  image: *img\n',
  'main: &c\n  name: app\n  image:\n    repository: ghcr.io/acme/app\n    tag: v1\nsidecars:\n- *c\n',
  // Nested anchors, and an anchored mapping that holds an alias (app-template's `&probes` with `port: *port`).
  'a: &outer\n  b: &inner\n    c: 1\n  d: *inner\ne: *outer\nf: *inner\n',
  'env:\n  PORT: &port 8080\nprobes:\n  liveness: &probes\n    enabled: true\n    spec:\n      httpGet:\n        path: /healthz\n        port: *port\n  readiness: *probes\n  startup: *probes\n',
  // A redefined anchor: each alias takes the latest definition before it.
  'a: &x 1\nb: *x\nc: &x [2]\nd: *x\ne: &x\n  f: 3\ng: *x\n',
  // Anchors in several documents, each used in its own.
  'a: &x 1\nb: *x\n---\nc: &x 2\nd: *x\n',
  // Numbers, booleans, nulls and empty collections behind aliases.
  'a: &n 0x1F\nb: *n\nc: &t true\nd: *t\ng: &e []\nh: *e\ni: &o {}\nj: *o\n',
];

/** Anchor and alias uses the fast path leaves to the `yaml` package (which makes the findings). */
const TO_FULL_PARSER: string[] = [
  // Alias to an anchor defined later, or in an earlier document: an error.
  'a: *x\nb: &x 1\n',
  'a: &x 1\n---\nb: *x\n',
  // Anchors on keys or on empty nodes; aliases as keys, with properties, or below their key's line.
  '&k a: 1\nb: *k\n',
  'a: &k x\n*k : 1\n',
  'a: &x\nb: *x\n',
  'a: &z ~\nb: *z\n',
  '- &x\n- *x\n',
  'a: &x 1\nb:\n  *x\n',
  'a: &x !!str 1\nb: *x\n',
  'a: &x &y 1\n',
  // The anchor's name defined again inside its own node: the parsers disagree on which one a later alias means.
  'a: &x\n  b: &x 1\nc: *x\n',
  'a: &x\n  b: &x\n  - 1\nc: *x\n',
  // A recursive alias, names the parsers might read differently, merge keys.
  'a: &x [*x]\n',
  'a: &x: 1\nb: *x:\n',
  'base: &b {image: x}\nderived:\n  <<: *b\n  name: y\n',
];

/** A deterministic generator of small files mixing anchors, aliases, block and flow collections and documents. */
function generatedFiles(count: number, seed: number): string[] {
  let state = seed;
  const pick = (n: number) => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state % n;
  };
  const names = ['a', 'b', 'port', 'vps_ip'];
  const scalars = ['1', 'x', '"q"', 'ghcr.io/acme/app:1.0', 'true', '[1, 2]', '{k: v}', '[]', '[*a, 1]', '{k: *b}', '&c [*port]'];
  const node = (depth: number, indent: string): string => {
    const kind = pick(10);
    const anchor = pick(3) === 0 ? `&${names[pick(4)]}` : '';
    if (kind < 3 || depth > 2) return ` ${anchor} ${scalars[pick(scalars.length)]}`.replace(/^ {2}/, ' ');
    if (kind < 5) return ` *${names[pick(4)]}${pick(2) ? ' # c' : ''}`;
    let text = anchor ? ` ${anchor}${pick(2) ? ' # c' : ''}` : '';
    const entries = 1 + pick(3);
    if (kind < 7) {
      for (let i = 0; i < entries; i++) text += `\n${indent}  k${i}:${node(depth + 1, `${indent}  `)}`;
    } else {
      const dash = pick(2) ? `${indent}  ` : indent;
      for (let i = 0; i < entries; i++) text += `\n${dash}-${node(depth + 1, `${dash}  `)}`;
    }
    return text;
  };
  return Array.from({ length: count }, () => {
    let text = '';
    for (let k = 0, keys = 1 + pick(4); k < keys; k++) text += `key${k}:${node(0, '')}\n`;
    return pick(5) === 0 ? `${text}---\nz:${node(0, '')}\n` : text;
  });
}

function scalarAliases(count: number): string {
  return `value: &v 1\nuses:\n${'- *v\n'.repeat(count)}`;
}

/** A "billion laughs" of `levels` levels, each aliasing the previous one `fanOut` times. */
function laughs(levels: number, fanOut = 3): string {
  let text = 'l0: &l0 [lol, lol]\n';
  for (let level = 1; level < levels; level++) text += `l${level}: &l${level} [${Array(fanOut).fill(`*l${level - 1}`).join(', ')}]\n`;
  return text;
}

describe('fast YAML path: anchors and aliases', () => {
  it.each(ON_FAST_PATH.map((text) => [JSON.stringify(text).slice(0, 70), text]))('takes %s with the full parser’s values, lines and findings', (_label, text) => {
    expect(expectSameAsFullParser(text)).toBe(true);
  });

  it.each(TO_FULL_PARSER.map((text) => [JSON.stringify(text).slice(0, 70), text]))('leaves %s to the full parser', (_label, text) => {
    expect(expectSameAsFullParser(text)).toBe(false);
  });

  it('gives an alias its own line and the nodes inside an aliased collection the lines of the original', () => {
    const text = 'main: &c\n  name: app\n  image: ghcr.io/acme/app:v1\nport: &port 8080\nsidecars:\n- *c\nservice:\n  port: *port\n';
    for (const fastPath of [true, false]) {
      const [doc] = loadYamlDocuments('x.yaml', text, { fastPath }).documents;
      expect(doc?.lineOf(['sidecars', 0])).toBe(6);
      expect(doc?.lineOf(['sidecars', 0, 'image'])).toBe(3);
      expect(doc?.lineOf(['service', 'port'])).toBe(8);
      expect(doc?.lineOf(['port'])).toBe(4);
    }
    expect(fastParseYaml(text)).toBeDefined();
  });

  it('a value that contains itself through an alias is a YAML error, and the other documents are kept', () => {
    const { documents, findings } = loadYamlDocuments('x.yaml', 'a: &x [1, *x]\n---\nb: 2\n');
    expect(findings.map((f) => [f.code, f.line])).toEqual([['YAML_ERROR', 1]]);
    expect(findings[0]?.message).toContain('cycle');
    expect(documents.map((d) => d.value)).toEqual([{ b: 2 }]);
  });

  it('an unresolved alias is a YAML error, not an alias bomb', () => {
    for (const fastPath of [true, false]) {
      const { findings } = loadYamlDocuments('x.yaml', 'a: &x 1\n---\nb: *x\n', { fastPath });
      expect(findings.map((f) => f.code)).toEqual(['YAML_ERROR']);
    }
  });

  it('gives each place an alias put a collection its own copy, on both paths', () => {
    const text = 'base: &c\n  image: ghcr.io/acme/app:v1\n  ports: &p [80]\ncontainers:\n- *c\n- *c\nports: *p\n';
    for (const fastPath of [true, false]) {
      const [doc] = loadYamlDocuments('x.yaml', text, { fastPath }).documents;
      const value = doc?.value as { base: { image: string; ports: number[] }; containers: { image: string; ports: number[] }[]; ports: number[] };
      value.containers[0]!.image = 'changed';
      value.containers[1]!.ports.push(443);
      expect(value.base).toEqual({ image: 'ghcr.io/acme/app:v1', ports: [80] });
      expect(value.containers[0]).toEqual({ image: 'changed', ports: [80] });
      expect(value.containers[1]).toEqual({ image: 'ghcr.io/acme/app:v1', ports: [80, 443] });
      expect(value.ports).toEqual([80]);
    }
  });

  it('holds the alias cap exactly as the yaml package counts it: the last alias under the cap stays fast, one more is LIMIT_EXCEEDED', () => {
    // The yaml package counts an anchor's definition once and each alias once more: 99 aliases make 100.
    expect(expectSameAsFullParser(scalarAliases(99))).toBe(true);
    expect(expectSameAsFullParser(scalarAliases(100))).toBe(false);
    const { findings } = loadYamlDocuments('x.yaml', scalarAliases(100));
    expect(findings.map((f) => [f.code, f.line])).toEqual([['LIMIT_EXCEEDED', 1]]);
    expect(findings[0]?.message).toContain('MAX_YAML_ALIAS_COUNT');
    // A caller's own cap reaches the fast path too.
    expect(expectSameAsFullParser(scalarAliases(4), 'x.yaml', { maxAliasCount: 5 })).toBe(true);
    expect(expectSameAsFullParser(scalarAliases(5), 'x.yaml', { maxAliasCount: 5 })).toBe(false);
    // Empty collections count for nothing in the yaml package's measure, nor do collections of aliases to them.
    expect(expectSameAsFullParser(`e: &e []\nuses:\n${'- *e\n'.repeat(150)}`)).toBe(true);
    expect(expectSameAsFullParser(`e: &e []\nf: &f [*e, [*e]]\nuses:\n${'- *f\n'.repeat(150)}`)).toBe(true);
  });

  it('replays the yaml package’s measure of nested aliases: a billion laughs stays fast while under the cap and is refused past it', () => {
    const taken: boolean[] = [];
    for (let levels = 2; levels <= 7; levels++) taken.push(expectSameAsFullParser(laughs(levels)));
    // 3 aliases per level: 4, 16, 64, then 4 × 64 = 256 > 100.
    expect(taken).toEqual([true, true, true, false, false, false]);
    expect(loadYamlDocuments('x.yaml', laughs(5)).findings.map((f) => f.code)).toEqual(['LIMIT_EXCEEDED']);
    // The bomb's document is skipped and the file's other documents are kept, as on the full parser.
    const mixed = `${laughs(6)}---\nkind: Pod\n---\na: &x 1\nb: *x\n`;
    expect(expectSameAsFullParser(mixed)).toBe(false);
    expect(loadYamlDocuments('x.yaml', mixed).documents.map((d) => d.index)).toEqual([1, 2]);
  });

  it('leaves anchors nested deep around many aliases to the full parser instead of replaying its measure at length', () => {
    const anchors = Array.from({ length: 100 }, (_, i) => `a${i}: &v${i} x${i}\n`).join('');
    const aliases = Array.from({ length: 2000 }, (_, i) => `*v${i % 100}`).join(', ');
    const depth = 51;
    const nested = `${Array.from({ length: depth }, (_, i) => `&n${i} [`).join('')}${aliases}${']'.repeat(depth)}`;
    const text = `${anchors}n: ${nested}\nm: [${Array.from({ length: depth }, (_, i) => `*n${i}`).join(', ')}]\n`;
    // Under the cap (the full parser keeps the document), but 51 × 2,000 inner aliases to read: the full parser decides.
    expect(fastParseYaml(text)).toBeUndefined();
    // One level less is 50 × 2,000, the budget, and stays fast.
    expect(fastParseYaml(text.replace('&n50 [', '[').replace(', *n50]', ']'))).toBeDefined();
  });

  it('agrees with the full parser on 400 generated files of anchors and aliases, and takes many of them', () => {
    let taken = 0;
    for (const text of generatedFiles(400, 7)) if (expectSameAsFullParser(text)) taken++;
    expect(taken).toBeGreaterThan(100);
  });

  it('takes the real bjw-s-labs/home-ops files (HelmReleases with &port/&probes, a DNSEndpoint with &vps_ip) with identical results', () => {
    const dir = join(__dirname, 'fixtures', 'bjw-s-home-ops');
    const files = readdirSync(dir).filter((name) => name.endsWith('.yaml'));
    expect(files).toHaveLength(3);
    for (const name of files) {
      const text = readFileSync(join(dir, name), 'utf8');
      expect(text).toMatch(/&\w+/);
      expect(expectSameAsFullParser(text, name)).toBe(true);
    }
  });
});
