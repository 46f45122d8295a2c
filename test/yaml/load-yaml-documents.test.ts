import { describe, expect, it } from 'vitest';
import { isHelmTemplateFile, loadYamlDocuments } from '../../lambdas/engine/yaml/index.js';

const deployment = `# leading comment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: auth-api
spec:
  template:
    spec:
      containers:
        - name: api
          image: ghcr.io/acme/auth-api:dev-latest
        - name: sidecar
          image:
            ghcr.io/acme/sidecar:1
`;

describe('loadYamlDocuments', () => {
  it('returns each non-empty document with its index and start line', () => {
    const { documents, findings } = loadYamlDocuments('a.yaml', 'a: 1\n---\n---\n# only a comment\n---\nb: 2\n');
    expect(findings).toEqual([]);
    expect(documents.map((d) => [d.index, d.startLine, d.value])).toEqual([
      [0, 1, { a: 1 }],
      [3, 6, { b: 2 }],
    ]);
    expect(documents.every((d) => d.file === 'a.yaml')).toBe(true);
  });

  it('returns nothing and no findings for an empty file', () => {
    expect(loadYamlDocuments('e.yaml', '')).toEqual({ documents: [], findings: [] });
    expect(loadYamlDocuments('e.yaml', '# nothing\n')).toEqual({ documents: [], findings: [] });
  });

  it('lineOf finds value nodes, block values on their own line, and falls back to the nearest ancestor', () => {
    const [doc] = loadYamlDocuments('d.yaml', Buffer.from(deployment)).documents;
    if (!doc) throw new Error('no document');
    expect(doc.startLine).toBe(2);
    expect(doc.lineOf([])).toBe(2);
    expect(doc.lineOf(['metadata', 'name'])).toBe(5);
    expect(doc.lineOf(['spec', 'template', 'spec', 'containers', 0])).toBe(10);
    expect(doc.lineOf(['spec', 'template', 'spec', 'containers', 0, 'image'])).toBe(11);
    expect(doc.lineOf(['spec', 'template', 'spec', 'containers', 1, 'image'])).toBe(14);
    expect(doc.lineOf(['spec', 'template', 'spec', 'containers', 5, 'image'])).toBe(10);
    expect(doc.lineOf(['spec', 'template', 'spec', 'missing'])).toBe(9);
    expect(doc.lineOf(['metadata', 'name', 'deeper'])).toBe(5);
  });

  it('lineOf points at the key of an empty value', () => {
    const [doc] = loadYamlDocuments('n.yaml', 'a:\n  b:\n  c: 1\n').documents;
    expect(doc?.lineOf(['a', 'b'])).toBe(2);
  });

  it('lineOf follows aliases and merge keys resolve in the value', () => {
    const text = 'base: &base\n  image: nginx:1\nuse: *base\nmerged:\n  <<: *base\n  name: x\n';
    const [doc] = loadYamlDocuments('m.yaml', text).documents;
    expect(doc?.value).toEqual({ base: { image: 'nginx:1' }, use: { image: 'nginx:1' }, merged: { image: 'nginx:1', name: 'x' } });
    expect(doc?.lineOf(['use', 'image'])).toBe(2);
  });

  it('reports a syntax error with its line and keeps the valid documents of the same file', () => {
    const text = 'a: 1\n---\nb: [1, 2\nc: 3\n---\nd: 4\n';
    const { documents, findings } = loadYamlDocuments('bad.yaml', text);
    expect(documents.map((d) => d.value)).toEqual([{ a: 1 }, { d: 4 }]);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ file: 'bad.yaml', code: 'YAML_ERROR', severity: 'error' });
    expect(findings[0]?.line).toBeGreaterThanOrEqual(3);
    expect(findings[0]?.line).toBeLessThanOrEqual(5);
    expect(findings[0]?.message).toMatch(/^document 2: .*document skipped$/);
  });

  it('keeps a document with duplicate keys and warns at the duplicate', () => {
    const { documents, findings } = loadYamlDocuments('dup.yaml', 'image: a\nname: x\nimage: b\n');
    expect(documents[0]?.value).toEqual({ image: 'b', name: 'x' });
    expect(findings).toEqual([
      { file: 'dup.yaml', line: 3, code: 'YAML_ERROR', message: 'document 1: duplicate key; the last value wins', severity: 'warning' },
    ]);
  });

  it('stops a billion-laughs alias bomb with a finding and keeps the other documents', () => {
    const levels = 'abcdefghi'.split('');
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < levels.length; i++) {
      const prev = levels[i - 1] as string;
      lines.push(`${levels[i]}: &${levels[i]} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const { documents, findings } = loadYamlDocuments('bomb.yaml', `ok: 1\n---\n${lines.join('\n')}\n`);
    expect(documents.map((d) => d.value)).toEqual([{ ok: 1 }]);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ file: 'bomb.yaml', code: 'LIMIT_EXCEEDED', severity: 'error', line: 3 });
    expect(findings[0]?.message).toContain('alias expansion exceeds the cap of 100 (MAX_YAML_ALIAS_COUNT');
  });

  it('skips a file with more documents than the cap (10,000) with a finding naming the cap, on both parsers', () => {
    const many = 'a: 1\n---\n'.repeat(10_001);
    for (const fastPath of [true, false]) {
      const { documents, findings } = loadYamlDocuments('many.yaml', many, { fastPath });
      expect(documents).toEqual([]);
      expect(findings).toEqual([
        {
          file: 'many.yaml',
          line: 0,
          code: 'LIMIT_EXCEEDED',
          severity: 'error',
          message: 'file holds 10002 YAML documents, over the cap of 10000 per file (MAX_YAML_DOCUMENTS); skipped, so what it declares is unknown',
        },
      ]);
    }
    expect(loadYamlDocuments('ok.yaml', 'a: 1\n---\n'.repeat(9_999)).documents).toHaveLength(9_999);
  });

  it('reports binary content instead of parsing it', () => {
    const { documents, findings } = loadYamlDocuments('img.yaml', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01]));
    expect(documents).toEqual([]);
    expect(findings.map((f) => f.code)).toEqual(['BINARY_FILE']);
  });

  it('reports invalid UTF-8 with the line of the first bad byte', () => {
    const content = Buffer.concat([Buffer.from('a: 1\nb: '), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]);
    const { documents, findings } = loadYamlDocuments('latin.yaml', content);
    expect(documents).toEqual([]);
    expect(findings).toEqual([{ file: 'latin.yaml', line: 2, code: 'NOT_UTF8', message: 'file is not valid UTF-8; skipped', severity: 'error' }]);
  });

  it('accepts a UTF-8 byte order mark', () => {
    const { documents, findings } = loadYamlDocuments('bom.yaml', Buffer.from('\ufeffa: é\n'));
    expect(findings).toEqual([]);
    expect(documents[0]?.value).toEqual({ a: 'é' });
  });

  it('skips files over the size cap', () => {
    const { documents, findings } = loadYamlDocuments('big.yaml', 'a: 12345\n', { maxBytes: 4 });
    expect(documents).toEqual([]);
    expect(findings).toEqual([
      { file: 'big.yaml', line: 0, code: 'LIMIT_EXCEEDED', message: 'file is 9 bytes, over the cap of 4 bytes per file (MAX_FILE_BYTES); skipped, so what it declares is unknown', severity: 'error' },
    ]);
  });

  it('does not expand List kinds', () => {
    const [doc] = loadYamlDocuments('l.yaml', 'kind: List\nitems:\n  - kind: Pod\n').documents;
    expect(doc?.value).toEqual({ kind: 'List', items: [{ kind: 'Pod' }] });
  });

  it('reports an unparseable Helm template as a YAML error (callers check isHelmTemplateFile first)', () => {
    const { findings } = loadYamlDocuments('t.yaml', '{{- if .Values.enabled }}\nkind: Pod\n{{- end }}\n');
    expect(findings.map((f) => f.code)).toContain('YAML_ERROR');
  });
});

describe('isHelmTemplateFile', () => {
  it.each([
    ['charts/web/templates/deployment.yaml', 'kind: Deployment\n', true],
    ['templates/_helpers.tpl', '', true],
    ['apps/web/deployment.yaml', 'image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"\n', true],
    ['apps/web/deployment.yaml', '{{- if .Values.enabled }}\nkind: Pod\n{{- end }}\n', true],
    ['apps/web/deployment.yaml', 'metadata:\n  labels: {{ include "x.labels" . | nindent 4 }}\n', true],
    ['apps/web/deployment.yaml', 'kind: Pod\n# image: {{ .Values.image }}\n', false],
    ['apps/appset.yaml', "template:\n  metadata:\n    name: '{{name}}-{{cluster}}'\n", false],
    ['apps/appset.yaml', 'template:\n  spec:\n    source:\n      path: "{{.path.path}}"\n', false],
    ['apps/plain.yaml', 'kind: Pod\n', false],
  ])('%s → %s', (path, text, expected) => {
    expect(isHelmTemplateFile(path, text as string)).toBe(expected);
  });

  it('asks whether the parent of templates/ is a chart when told how', () => {
    const isChart = (dir: string) => dir === 'charts/web';
    expect(isHelmTemplateFile('charts/web/templates/a.yaml', 'kind: Pod\n', isChart)).toBe(true);
    expect(isHelmTemplateFile('appsets/templates/a.yaml', 'kind: Pod\n', isChart)).toBe(false);
  });
});
