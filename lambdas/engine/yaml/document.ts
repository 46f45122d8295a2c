import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import { NO_BLOCK, type LineTable } from './fast-path.js';

export type YamlPath = readonly (string | number)[];

/** One non-empty YAML document of a file, as plain data plus a way back to its source lines. */
export interface YamlDocument {
  /** Repository-relative path of the file. */
  file: string;
  /** Position of the document in the file's stream, 0-based (empty documents count). */
  index: number;
  /** The document as plain JavaScript data (merge keys and aliases resolved). */
  value: unknown;
  /** 1-based line where the document's content starts. */
  startLine: number;
  /** 1-based line of the node at `path` (the value node); the nearest existing ancestor's line when the path does not exist. */
  lineOf(path: YamlPath): number;
}

/** Wraps a parsed document; lines are computed lazily from node offsets, so unused lookups cost nothing. */
export function createYamlDocument(
  file: string,
  index: number,
  value: unknown,
  doc: Document.Parsed,
  lineCounter: LineCounter,
): YamlDocument {
  const root = doc.contents;
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;
  const startLine = root?.range ? lineAt(root.range[0]) : lineAt(doc.range[0]);
  return {
    file,
    index,
    value,
    startLine,
    lineOf(path: YamlPath): number {
      return lineOfPath(doc, root, path, startLine, lineAt);
    },
  };
}

function lineOfPath(
  doc: Document.Parsed,
  root: Node | null,
  path: YamlPath,
  startLine: number,
  lineAt: (offset: number) => number,
): number {
  let node: unknown = root;
  let line = startLine;
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(doc);
    let next: unknown;
    if (isMap(node)) {
      const key = String(segment);
      const pair = node.items.find((p) => keyText(p.key) === key);
      if (!pair) return line;
      if (pair.value === null || pair.value === undefined) {
        return rangeStart(pair.key) === undefined ? line : lineAt(rangeStart(pair.key) as number);
      }
      next = pair.value;
    } else if (isSeq(node)) {
      const position = typeof segment === 'number' ? segment : Number(segment);
      if (!Number.isInteger(position)) return line;
      next = node.items[position];
      if (next === undefined || next === null) return line;
    } else {
      return line;
    }
    const offset = rangeStart(next);
    if (offset !== undefined) line = lineAt(offset);
    node = next;
  }
  return line;
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  if (typeof key === 'string' || typeof key === 'number') return String(key);
  return undefined;
}

function rangeStart(node: unknown): number | undefined {
  if (typeof node !== 'object' || node === null || !('range' in node)) return undefined;
  const range = (node as { range?: readonly number[] | null }).range;
  return range?.[0];
}

/**
 * A YamlDocument from the fast path: lines come from the table the fast path built for the whole file. A class, not
 * an object with a closure: the resolver keeps every parsed document for the run, and a closure and its context per
 * document cost more than the document's own fields.
 */
class FastYamlDocument implements YamlDocument {
  constructor(
    readonly file: string,
    readonly index: number,
    readonly value: unknown,
    readonly startLine: number,
    private readonly lines: LineTable,
    private readonly root: number,
  ) {}

  lineOf(path: YamlPath): number {
    const lines = this.lines;
    let node: unknown = this.value;
    let block = this.root;
    let line = this.startLine;
    for (const segment of path) {
      if (block === NO_BLOCK || typeof node !== 'object' || node === null) return line;
      const count = lines[block] as number;
      let at = -1; // the child's position in the block
      let key: string | number;
      if (Array.isArray(node)) {
        key = typeof segment === 'number' ? segment : Number(segment);
        if (Number.isInteger(key) && key >= 0 && key < count) at = key;
      } else {
        key = String(segment);
        // The block holds a mapping's children in the order of its own keys.
        let position = 0;
        for (const own in node) {
          if (own === key) {
            at = position;
            break;
          }
          position++;
        }
        if (at >= count) at = -1;
      }
      if (at < 0) return line;
      line = lines[block + 1 + 2 * at] as number;
      block = lines[block + 2 + 2 * at] as number;
      node = (node as Record<string | number, unknown>)[key];
    }
    return line;
  }
}

export function createFastYamlDocument(file: string, index: number, value: unknown, startLine: number, lines: LineTable, root: number): YamlDocument {
  return new FastYamlDocument(file, index, value, startLine, lines, root);
}

/**
 * A YamlDocument for data that has no YAML source of its own (a rendered or patched resource):
 * every path resolves to `line` (or to `lineOf` when the caller can map paths itself).
 */
export function yamlDocumentFromValue(
  file: string,
  value: unknown,
  line: number,
  lineOf: (path: YamlPath) => number = () => line,
): YamlDocument {
  return { file, index: 0, value, startLine: line, lineOf };
}
