import { describe, expect, it } from 'vitest';
import { loadYamlDocuments } from '../../lambdas/engine/yaml/index.js';

describe('a file with unresolved merge-conflict markers', () => {
  it('is refused as a whole with a YAML_ERROR at the first marker, even where the YAML would parse', () => {
    // `<<<<<<< HEAD` and `>>>>>>> branch` as plain keys and `=======` as a scalar: a parser alone keeps some side.
    const text = 'images:\n  - name: ghcr.io/acme/web\n<<<<<<< HEAD\n    newTag: "2.1"\n=======\n    newTag: "2.2"\n>>>>>>> feature/bump\n';
    const loaded = loadYamlDocuments('overlays/dev/kustomization.yaml', text);
    expect(loaded.documents).toEqual([]);
    expect(loaded.findings).toEqual([
      expect.objectContaining({
        code: 'YAML_ERROR',
        severity: 'error',
        line: 3,
        message: expect.stringMatching(/^unresolved merge conflict: git conflict markers \(markers on lines 3, 7\)/),
      }),
    ]);
  });

  it('a marker alone on its line (no label) counts too; seven characters inside a value do not', () => {
    expect(loadYamlDocuments('a.yaml', 'a: 1\n>>>>>>>\n').findings.map((f) => [f.code, f.line])).toEqual([['YAML_ERROR', 2]]);
    const clean = loadYamlDocuments('b.yaml', 'note: "<<<<<<< not a marker"\nother: |\n  >>>>>>> indented in a block\n');
    expect(clean.findings).toEqual([]);
    expect(clean.documents).toHaveLength(1);
  });
});
