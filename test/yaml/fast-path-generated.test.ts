import { describe, expect, it } from 'vitest';
import { loadYamlDocuments, type YamlDocument } from '../../lambdas/engine/yaml/index.js';
import { fastParseYaml } from '../../lambdas/engine/yaml/fast-path.js';

/** Deterministic pseudo-random generator (fixed seed): the corpus is the same on every run. */
function generator(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  return { pick: <T,>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T, chance: (p: number) => next() < p };
}

const KEYS = ['name', 'image', 'a', 'b-c', 'x.y/z', '"quoted key"', "'single'", '8080', 'true', 'key with space', 'k#h', 'url', 'n'];
const SAFE_SCALARS = [
  'ghcr.io/acme/app:1.0', 'nginx', '1', '-1', '+1', '1.0', '1.10', '.5', '1e3', '0x1f', '0o17', '017', 'true', 'False', 'yes',
  'null', '~', 'Null', '"quoted"', "'it''s'", '""', '"a\\"b"', '"tab\\tx"', 'a # comment', 'a#b', 'http://x:8080/p', '-x', '.inf', '.NaN', '[a, b]', '{a: 1}', '[]', '{}', '[{x: 1}, [y]]', '{a: [1, 2], b: {c: d}}', '0.0', '1_000', 'x,y',
];
/** Outside the fast path's subset, or invalid: these must fall back and still agree. */
const RISKY_SCALARS = [
  '&anchor v', '*alias', '!tag v', '|', '>-', '@x', '`x', '%x', '? x', ',x', "'unterminated", '"a" b', 'a: b', 'trailing:', '-', '- x', 'x]',
];

function scalar(random: ReturnType<typeof generator>): string {
  return random.chance(0.04) ? random.pick(RISKY_SCALARS) : random.pick(SAFE_SCALARS);
}

function generateDocument(random: ReturnType<typeof generator>, depth: number, indent: number, inSequence = false): string[] {
  const lines: string[] = [];
  const pad = ' '.repeat(indent);
  const entries = 1 + Math.floor(random.pick([0, 1, 2, 3]));
  const asSequence = !inSequence && random.chance(0.3);
  for (let i = 0; i < entries; i++) {
    const prefix = asSequence ? `${pad}- ` : `${pad}${random.pick(KEYS)}:`;
    const nested = depth > 0 && random.chance(0.4);
    if (random.chance(0.1)) lines.push(`${pad}# comment`);
    if (random.chance(0.05)) lines.push('');
    if (nested) {
      const childIndent = random.chance(0.15) && !asSequence ? indent : indent + random.pick([1, 2, 4]);
      lines.push(asSequence ? `${pad}-` : prefix);
      lines.push(...generateDocument(random, depth - 1, childIndent, childIndent === indent));
    } else if (random.chance(0.08)) {
      // A literal block scalar whose lines look like YAML, comments and blanks included.
      lines.push(`${prefix}${asSequence ? '' : ' '}${random.pick(['|', '|-', '|+', '| # c'])}`);
      const deeper = ' '.repeat(indent + random.pick([1, 2, 4]));
      for (let j = 0; j < 1 + Math.floor(random.pick([0, 1, 2])); j++) {
        lines.push(random.chance(0.2) ? '' : `${deeper}${random.chance(0.3) ? '  ' : ''}${random.pick(KEYS)}: ${scalar(random)}${random.chance(0.2) ? ' # x' : ''}`);
      }
    } else if (asSequence && random.chance(0.3)) {
      lines.push(`${prefix}${random.pick(KEYS)}: ${scalar(random)}`);
      if (random.chance(0.5)) lines.push(`${pad}  ${random.pick(KEYS)}: ${scalar(random)}`);
    } else {
      lines.push(`${prefix}${asSequence ? '' : ' '}${scalar(random)}`);
    }
  }
  return lines;
}

function snapshot(documents: YamlDocument[]) {
  const paths = (value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []) => {
    out.push(prefix);
    if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...prefix, i], out));
    else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
    return out;
  };
  return documents.map((d) => ({ index: d.index, startLine: d.startLine, value: d.value, lines: paths(d.value).map((p) => d.lineOf(p)) }));
}

describe('fast YAML path on generated documents', () => {
  it('matches the full parser on 1,500 generated files, valid and invalid', () => {
    const random = generator(20261128);
    let compared = 0;
    let tookFastPath = 0;
    for (let i = 0; i < 1500; i++) {
      const docs = [generateDocument(random, 3, 0).join('\n')];
      if (random.chance(0.3)) docs.push(generateDocument(random, 2, 0).join('\n'));
      const text = docs.join('\n---\n') + (random.chance(0.5) ? '\n' : '');
      const fast = loadYamlDocuments('g.yaml', text);
      const full = loadYamlDocuments('g.yaml', text, { fastPath: false });
      const context = `generated file ${i}:\n${text}`;
      expect(fast.findings, context).toEqual(full.findings);
      expect(snapshot(fast.documents), context).toEqual(snapshot(full.documents));
      compared++;
      if (fastParseYaml(text)) tookFastPath++;
    }
    expect(compared).toBe(1500);
    // The corpus must exercise the fast path, not only the fallback.
    expect(tookFastPath).toBeGreaterThan(600);
  });
});
