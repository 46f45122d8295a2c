import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectSameAsFullParser } from '../support/yaml-differential.js';

const SUPPORTED: string[] = [
  'a: 1\nb: two\nc: 3.50\nd: true\ne: ~\nf: null\ng: 0x1F\nh: 0o17\ni: 1e3\nj: .inf\nk: -.inf\nl: .nan\nm: +12\nn: 012\no: 1.2.3\np: False\nq: TRUE\nr: yes\ns: -1\nt: "-"\n',
  'image: ghcr.io/acme/auth-api:dev-latest\ndigest: x@sha256:abc\nurl: http://example.com:8080/path#frag\nhash: a#b\nspaced:   value with  spaces   # comment\n',
  'quoted: "a \\"q\\" \\\\ \\n \\t \\/"\nsingle: \'it\'\'s\'\n"quoted key": 1\n\'single key\': 2\nempty: ""\nempty2: \'\'\n',
  'spec:\n  containers:\n  - name: a\n    image: x\n  - name: b\n    image: y\n  volumes: []\n',
  'spec:\n  containers:\n    - name: a\n      image: x\n      args: ["--a", "--b=c", \'d\']\n      ports: [{containerPort: 8080, protocol: TCP}]\n    -   name: wide\n        image: z\n',
  'list:\n- a\n- 1\n- \n- # comment\n-\n  nested: map\n- key: v\n  other: w\n- [1, 2, [3, {x: y}]]\n- {}\n',
  'flow: {a: 1, b: [x, y], "c d": e, url: http://x:1/y, empty: , trailing: z,}\nseq: [a, b, ]\n',
  '# leading comment\n---\na: 1\n---\n# only comment\n---\nb:\n  c:\n    d: e\n---\n',
  'a: 1\n---\n---\n\n---\nb: 2\n',
  'key:\nnext: 1\nnull_then_seq:\n- x\n',
  'metadata:\n  annotations:\n    example.com/a: "true"\n    b: \'{"json": 1}\'\n  labels: {app.kubernetes.io/name: web}\n',
  'top:\n  # comment between\n  a: 1\n\n\n  b:   # comment after key\n    c: 2\n',
  '8080: port\ntrue: t\n-1: neg\n',
  'data:\n  name: x\n  "80": web\n  443: tls\n  "0": zero\n  z: [1, 2]\n  "012": lead\n',
  '- a\n- b\n',
  'a: [1,2]   # trailing comment\nb: "x" # c\n',
  'a: 1\r\nb:\r\n  - x\r\n---\r\nc: "q"\r\n',
  'data:\n  config.yaml: |\n    server:\n      port: 8080\n    # not a comment\n\n    tail: x\n  next: 1\n',
  'a: |-\n  one\n  two\n\n\nb: |+\n  kept\n\n\n---\nc: |\n    deeper\n     more\n  # real comment\nd: 1\n',
  'list:\n- |\n  item one\n- name: x\n  script: | # header comment\n    echo "a: b" {{ .x }}\n    done\n  after: 2\n',
  'values: |\n\n  leading blank\n',
  'k: |\n  x\n\n',
  'k: |+\n  x\n',
];

const UNSUPPORTED_OR_INVALID: string[] = [
  'a: 1\n...\n',
  'base: &b {image: x}\nderived:\n  <<: *b\n  name: y\n',
  'a: !!str 1\n',
  'script: |2\n  echo hi\n  echo there\n',
  'a: |\nb: 1\n',
  'a: |\n  no final break',
  'a: |\n      \n  x\n',
  'a: |\n  x\n     \n  y\n',
  'folded: >-\n  a\n  b\n',
  'multi: this is\n  continued\n',
  'a: "multi\n  line"\n',
  'a: [1,\n  2]\n',
  'a:\tb\n',
  'a: 1\rb: 2\r',
  '\ufeffa: 1\n',
  'a: 1\na: 2\n',
  'a: b: c\n',
  '? complex\n: key\n',
  '%YAML 1.2\n---\na: 1\n',
  '--- {a: 1}\n',
  'just a scalar\n',
  '- - nested\n  - seq\n',
  'a: "\\x41\\u00e9"\n',
  'a:\n  b: 1\n c: 2\n',
  'a: 1\n  b: 2\n',
  '- a\nb: 1\n',
  'a: [x: y]\n',
  'a: {b}\n',
  'a: @x\n',
  'a: "x"y\n',
  '01: x\n',
  '__proto__: x\n',
  'k:value\n',
  'a: -\n',
  '{a: 1}\n',
  'a:\n  value on its own line\n',
];

describe('fast YAML path', () => {
  it.each(SUPPORTED.map((text) => [JSON.stringify(text).slice(0, 70), text]))('handles %s exactly as the full parser', (_label, text) => {
    expect(expectSameAsFullParser(text)).toBe(true);
  });

  it.each(UNSUPPORTED_OR_INVALID.map((text) => [JSON.stringify(text).slice(0, 70), text]))('leaves %s to the full parser', (_label, text) => {
    expect(expectSameAsFullParser(text)).toBe(false);
  });

  it('agrees with the full parser on every YAML file of the repository (fixtures and examples)', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        if (name === 'node_modules' || name.startsWith('.') || name === 'cdk.out') continue;
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (/\.ya?ml$/.test(name)) files.push(path);
      }
    };
    walk('test');
    walk('examples');
    let fast = 0;
    for (const path of files) {
      const text = readFileSync(path, 'utf8');
      if (expectSameAsFullParser(text, path)) fast++;
    }
    expect(files.length).toBeGreaterThan(10);
    // Most real manifests are plain YAML; the fast path must actually be taken for them.
    expect(fast).toBeGreaterThan(files.length / 2);
  });
});
