/**
 * A fast path for the plain YAML that makes up nearly all GitOps manifests: block maps and sequences, literal block scalars,
 * plain and simply quoted scalars, single-line flow collections, comments. It is several times faster
 * than the general parser because it skips the CST and node objects. Anything outside that subset
 * (anchors, aliases, tags, folded or indented-indicator block scalars, multi-line flow or quoted scalars, merge keys, duplicate keys, tabs,
 * directives, errors of any kind) makes it give up on the whole file, and the caller uses the `yaml`
 * package instead, so results never depend on which path ran. Values follow the YAML 1.2 core schema
 * exactly as the `yaml` package resolves them; the differential tests hold both paths to the same output.
 */

/** Line of each child value node, per container, for lineOf. */
export type LineTable = WeakMap<object, Map<string | number, number>>;

export interface FastDocument {
  index: number;
  value: unknown;
  startLine: number;
}

export interface FastParseResult {
  documents: FastDocument[];
  lines: LineTable;
}

class GiveUp extends Error {}
const GIVE_UP = new GiveUp();

// YAML 1.2 core schema, in the order the `yaml` package tries its tags.
const NULL = /^(?:~|[Nn]ull|NULL)?$/;
const BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const INT_OCT = /^0o[0-7]+$/;
const INT = /^[-+]?[0-9]+$/;
const INT_HEX = /^0x[0-9a-fA-F]+$/;
const FLOAT_NAN = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const FLOAT_EXP = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;
/** First characters a plain scalar cannot start with here (or that we leave to the full parser). */
const RISKY_START = /^[&*!|>%@`,\]}?]/;
const DOCUMENT_MARKER = /^---(?:[ \t]|$)/;
/** `|`, `|-`, `|+`, optionally followed by a comment. */
const LITERAL_HEADER = /^\|([+-])?(?: +#.*| *)$/;
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = { '\\': '\\', '"': '"', '/': '/', n: '\n', t: '\t', r: '\r', '0': '\0', ' ': ' ' };

interface Line {
  /** 1-based line number. */
  number: number;
  indent: number;
  text: string;
}

/** Parses a whole file, or returns undefined when any part of it is outside the supported subset. */
export function fastParseYaml(source: string): FastParseResult | undefined {
  let text = source;
  if (text.includes('\r')) {
    // CRLF line ends change nothing in block YAML; a lone CR is a line break we leave to the full parser.
    text = text.replaceAll('\r\n', '\n');
    if (text.includes('\r')) return undefined;
  }
  if (text.includes('\t') || text.charCodeAt(0) === 0xfeff) return undefined;
  const lines: LineTable = new WeakMap();
  const documents: FastDocument[] = [];
  const rawLines = text.split('\n');
  let current: Line[] = [];
  let index = 0;
  let sawContent = false;
  let sawMarker = false;
  try {
    const flush = (): void => {
      if (current.length > 0) {
        const parser = new BlockParser(current, lines, rawLines);
        const value = parser.parseDocument();
        documents.push({ index, value, startLine: (current[0] as Line).number });
      }
      current = [];
    };
    for (let i = 0; i < rawLines.length; i++) {
      const raw = rawLines[i] as string;
      if (raw.startsWith('---') && DOCUMENT_MARKER.test(raw)) {
        const rest = raw.slice(3).trim();
        if (rest !== '' && !rest.startsWith('#')) return undefined;
        // The part before the first marker is a document only if it held content.
        if (sawMarker || sawContent) {
          flush();
          index++;
        }
        current = [];
        sawMarker = true;
        continue;
      }
      if (raw.startsWith('...') || raw.startsWith('%')) return undefined;
      let indent = 0;
      while (raw.charCodeAt(indent) === 32) indent++;
      if (indent === raw.length || raw.charCodeAt(indent) === 35 /* # */) continue;
      sawContent = true;
      current.push({ number: i + 1, indent, text: raw });
    }
    flush();
  } catch (error) {
    if (error instanceof GiveUp) return undefined;
    throw error;
  }
  return { documents, lines };
}

class BlockParser {
  private position = 0;

  constructor(
    private readonly lines: readonly Line[],
    private readonly table: LineTable,
    private readonly rawLines: readonly string[],
  ) {}

  parseDocument(): unknown {
    const first = this.lines[0] as Line;
    const value = this.parseBlockNode(first.indent);
    if (this.position < this.lines.length) throw GIVE_UP; // content the block structure did not take
    return value;
  }

  /** A block collection starting at the current line, whose column is `column`. */
  private parseBlockNode(column: number): unknown {
    const line = this.lines[this.position];
    if (!line || line.indent !== column) throw GIVE_UP;
    if (isSequenceEntry(line.text, column)) return this.parseSequence(column);
    return this.parseMap(column);
  }

  private parseSequence(column: number): unknown[] {
    const items: unknown[] = [];
    const itemLines = new Map<string | number, number>();
    for (let line = this.lines[this.position]; line && line.indent === column && isSequenceEntry(line.text, column); line = this.lines[this.position]) {
      let contentColumn = column + 1;
      while (line.text.charCodeAt(contentColumn) === 32) contentColumn++;
      const rest = line.text.slice(contentColumn);
      const index = items.length;
      if (rest === '' || rest.startsWith('#')) {
        this.position++;
        const { value, valueLine } = this.parseNestedBlock(column, line.number, false);
        items.push(value);
        itemLines.set(index, valueLine);
        continue;
      }
      if (rest.startsWith('- ') || rest === '-') throw GIVE_UP; // compact nested sequence
      if (findMappingColon(rest) !== -1) {
        // `- key: value`: a map whose column is where the key starts.
        items.push(this.parseMap(contentColumn));
        itemLines.set(index, line.number);
        continue;
      }
      this.position++;
      items.push(this.parseInline(rest, line, column));
      itemLines.set(index, line.number);
      this.expectNothingDeeperThan(column);
    }
    this.table.set(items, itemLines);
    return items;
  }

  /**
   * A block map whose keys sit at `column`. The first entry may start mid-line (after `- `); later entries must
   * start lines indented exactly `column`; a line indented less ends the map.
   */
  private parseMap(column: number): Record<string, unknown> {
    const map: Record<string, unknown> = {};
    const valueLines = new Map<string | number, number>();
    let first = true;
    for (;;) {
      const line = this.lines[this.position];
      if (!line) break;
      if (!first) {
        if (line.indent < column) break;
        if (line.indent > column || isSequenceEntry(line.text, column)) throw GIVE_UP;
      }
      const entryText = first ? line.text.slice(column) : line.text.slice(line.indent);
      first = false;
      const colon = findMappingColon(entryText);
      if (colon === -1) throw GIVE_UP;
      const key = parseKey(entryText.slice(0, colon));
      if (key === '<<' || key === '__proto__' || Object.hasOwn(map, key)) throw GIVE_UP;
      const rest = entryText.slice(colon + 1).trimStart();
      this.position++;
      if (rest === '' || rest.startsWith('#')) {
        const { value, valueLine } = this.parseNestedBlock(column, line.number, true);
        map[key] = value;
        valueLines.set(key, valueLine);
      } else {
        map[key] = this.parseInline(rest, line, column);
        valueLines.set(key, line.number);
        this.expectNothingDeeperThan(column);
      }
    }
    this.table.set(map, valueLines);
    return map;
  }

  /** The value of `key:` or `-` with nothing after it: a deeper block, a same-column sequence (maps only), or null. */
  private parseNestedBlock(column: number, ownLine: number, sequenceMaySitAtColumn: boolean): { value: unknown; valueLine: number } {
    const next = this.lines[this.position];
    if (next && next.indent > column) return { value: this.parseBlockNode(next.indent), valueLine: next.number };
    if (next && sequenceMaySitAtColumn && next.indent === column && isSequenceEntry(next.text, column)) {
      return { value: this.parseSequence(column), valueLine: next.number };
    }
    return { value: null, valueLine: ownLine };
  }

  /** A value on the key's or `-`'s line; literal block scalars (`|`, `|-`, `|+`) read the raw lines below. */
  private parseInline(rest: string, line: Line, parentColumn: number): unknown {
    if (rest.charCodeAt(0) !== 124 /* | */) return parseInlineValue(rest, this.table, line.number);
    const header = LITERAL_HEADER.exec(rest);
    if (!header) throw GIVE_UP; // explicit indentation indicators and anything odd
    const chomping = header[1] ?? '';
    const body: string[] = [];
    let contentIndent = -1;
    let lastLine = line.number; // 1-based number of the last raw line the scalar takes
    // split('\n') leaves a last '' after a final line break: it is not a line.
    const end = this.rawLines.length - (this.rawLines[this.rawLines.length - 1] === '' ? 1 : 0);
    for (let i = line.number; i < end; i++) {
      const raw = this.rawLines[i] as string;
      let indent = 0;
      while (raw.charCodeAt(indent) === 32) indent++;
      if (indent === raw.length) {
        // A blank line: part of the scalar unless the scalar has ended; more spaces than the content
        // indentation make it content, which we leave to the full parser.
        if (contentIndent !== -1 && indent > contentIndent) throw GIVE_UP;
        body.push('');
        continue;
      }
      if (contentIndent === -1) {
        if (indent <= parentColumn) break;
        if (body.some((_, j) => (this.rawLines[line.number + j] as string).length > indent)) throw GIVE_UP;
        contentIndent = indent;
      } else if (indent < contentIndent) {
        break;
      }
      body.push(raw.slice(contentIndent));
      lastLine = i + 1;
    }
    if (contentIndent === -1) throw GIVE_UP; // empty block scalars: rare, left to the full parser
    // Skip the structural lines the scalar covered (comment-looking lines inside it were never structural).
    while ((this.lines[this.position]?.number ?? Infinity) <= lastLine) this.position++;
    const trailing = body.length - (lastLine - line.number);
    const content = body.slice(0, body.length - trailing);
    if (lastLine === this.rawLines.length) throw GIVE_UP; // no final line break: leave it to the full parser
    if (chomping === '-') return content.join('\n');
    if (chomping === '+') return content.join('\n') + '\n' + '\n'.repeat(trailing);
    return content.join('\n') + '\n';
  }

  /** After an inline value, a deeper line would be a multi-line scalar or an error: both are the full parser's job. */
  private expectNothingDeeperThan(column: number): void {
    const next = this.lines[this.position];
    if (next && next.indent > column) throw GIVE_UP;
  }
}

function isSequenceEntry(text: string, column: number): boolean {
  if (text.charCodeAt(column) !== 45 /* - */) return false;
  const after = text.charCodeAt(column + 1);
  return Number.isNaN(after) || after === 32;
}

/** Index of the `:` that separates a block mapping key from its value, or -1. Quoted keys are handled. */
function findMappingColon(text: string): number {
  const first = text[0];
  if (first === '"' || first === "'") {
    const end = closingQuote(text, 0);
    if (end === -1) return -1;
    return text[end + 1] === ':' && (end + 2 === text.length || text[end + 2] === ' ') ? end + 1 : -1;
  }
  if (first === '[' || first === '{' || first === '?' || first === '#') return -1;
  for (let i = text.indexOf(':'); i !== -1; i = text.indexOf(':', i + 1)) {
    if (i + 1 === text.length || text[i + 1] === ' ') {
      const before = text.slice(0, i);
      if (before.includes(' #')) return -1; // the colon is inside a comment
      return i;
    }
  }
  return -1;
}

function parseKey(text: string): string {
  const first = text[0];
  if (first === '"' || first === "'") return parseQuoted(text, 0).value;
  const key = text.trimEnd();
  if (key === '' || RISKY_START.test(key) || key.startsWith('- ') || key.startsWith('-\t')) throw GIVE_UP;
  const resolved = resolvePlain(key);
  // The yaml package stringifies non-string keys; only keep those whose string form is the text itself.
  if (typeof resolved !== 'string' && String(resolved) !== key) throw GIVE_UP;
  return key;
}

/** A value written on the same line as its key or `-`: quoted, flow, or plain. */
function parseInlineValue(text: string, table: LineTable, lineNumber: number): unknown {
  const first = text[0];
  if (first === '"' || first === "'") {
    const { value, end } = parseQuoted(text, 0);
    expectOnlyComment(text, end);
    return value;
  }
  if (first === '[' || first === '{') {
    const { value, end } = parseFlow(text, 0, table, lineNumber);
    expectOnlyComment(text, end);
    return value;
  }
  if (RISKY_START.test(text) || (first === '-' && (text[1] === ' ' || text.length === 1))) throw GIVE_UP;
  const comment = text.indexOf(' #');
  const plain = (comment === -1 ? text : text.slice(0, comment)).trimEnd();
  if (plain.includes(': ') || plain.endsWith(':')) throw GIVE_UP;
  return resolvePlain(plain);
}

function expectOnlyComment(text: string, from: number): void {
  let i = from;
  while (text.charCodeAt(i) === 32) i++;
  if (i < text.length && (text[i] !== '#' || i === from)) throw GIVE_UP;
}

function closingQuote(text: string, start: number): number {
  const quote = text[start];
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (quote === '"' && c === '\\') {
      i++;
      continue;
    }
    if (c === quote) {
      if (quote === "'" && text[i + 1] === "'") {
        i++;
        continue;
      }
      return i;
    }
  }
  return -1;
}

/** A quoted scalar that closes on the same line. Escapes beyond the simple ones are left to the full parser. */
function parseQuoted(text: string, start: number): { value: string; end: number } {
  const end = closingQuote(text, start);
  if (end === -1) throw GIVE_UP;
  const body = text.slice(start + 1, end);
  if (text[start] === "'") return { value: body.replaceAll("''", "'"), end: end + 1 };
  if (!body.includes('\\')) return { value: body, end: end + 1 };
  let value = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c !== '\\') {
      value += c;
      continue;
    }
    const escaped = body[++i];
    const simple = escaped === undefined ? undefined : SIMPLE_ESCAPES[escaped];
    if (simple === undefined) throw GIVE_UP;
    value += simple;
  }
  return { value, end: end + 1 };
}

/** A flow collection that closes on the same line: `[a, b]`, `{a: 1, b: [x]}`. */
function parseFlow(text: string, start: number, table: LineTable, lineNumber: number): { value: unknown; end: number } {
  const open = text[start];
  const close = open === '[' ? ']' : '}';
  const lines = new Map<string | number, number>();
  const list: unknown[] = [];
  const map: Record<string, unknown> = {};
  let i = skipSpaces(text, start + 1);
  while (text[i] !== close) {
    if (i >= text.length) throw GIVE_UP;
    if (open === '[') {
      const item = parseFlowNode(text, i, table, lineNumber);
      i = skipSpaces(text, item.end);
      if (text[i] === ':') throw GIVE_UP; // single-pair map inside a sequence
      lines.set(list.length, lineNumber);
      list.push(item.value);
    } else {
      const keyNode = parseFlowNode(text, i, table, lineNumber, true);
      if (typeof keyNode.value === 'object' && keyNode.value !== null) throw GIVE_UP;
      const key = keyNode.quoted ? String(keyNode.value) : keyNode.text;
      if (key === '<<' || key === '__proto__' || Object.hasOwn(map, key)) throw GIVE_UP;
      if (!keyNode.quoted && typeof keyNode.value !== 'string' && String(keyNode.value) !== key) throw GIVE_UP;
      i = skipSpaces(text, keyNode.end);
      if (text[i] !== ':') throw GIVE_UP; // `{a}` or `{a, b}`: keys without values
      i = skipSpaces(text, i + 1);
      const item = text[i] === ',' || text[i] === close ? { value: null, end: i } : parseFlowNode(text, i, table, lineNumber);
      map[key] = item.value;
      lines.set(key, lineNumber);
      i = skipSpaces(text, item.end);
    }
    if (text[i] === ',') i = skipSpaces(text, i + 1);
    else if (text[i] !== close) throw GIVE_UP;
  }
  const value = open === '[' ? list : map;
  table.set(value, lines);
  return { value, end: i + 1 };
}

function parseFlowNode(
  text: string,
  start: number,
  table: LineTable,
  lineNumber: number,
  isKey = false,
): { value: unknown; end: number; text: string; quoted: boolean } {
  const first = text[start];
  if (first === '"' || first === "'") {
    const { value, end } = parseQuoted(text, start);
    return { value, end, text: value, quoted: true };
  }
  if (first === '[' || first === '{') {
    if (isKey) throw GIVE_UP;
    const { value, end } = parseFlow(text, start, table, lineNumber);
    return { value, end, text: '', quoted: false };
  }
  if (first === undefined || RISKY_START.test(first) || first === '#' || first === ':' || (first === '-' && (text[start + 1] === ' ' || text[start + 1] === undefined))) throw GIVE_UP;
  let end = start;
  for (; end < text.length; end++) {
    const c = text[end];
    if (c === ',' || c === '[' || c === ']' || c === '{' || c === '}') break;
    if (c === ':' && (text[end + 1] === ' ' || text[end + 1] === ',' || text[end + 1] === '}' || text[end + 1] === ']' || end + 1 === text.length)) break;
    if (c === '#' && text[end - 1] === ' ') throw GIVE_UP;
  }
  if (text[end] === '[' || text[end] === '{') throw GIVE_UP;
  const plain = text.slice(start, end).trimEnd();
  if (plain === '') throw GIVE_UP;
  return { value: resolvePlain(plain), end: start + plain.length, text: plain, quoted: false };
}

function skipSpaces(text: string, from: number): number {
  let i = from;
  while (text.charCodeAt(i) === 32) i++;
  return i;
}

/** Resolves a plain scalar by the YAML 1.2 core schema, as the `yaml` package does. */
export function resolvePlain(text: string): unknown {
  if (NULL.test(text)) return null;
  const first = text.charCodeAt(0);
  const mayBeNumberOrBool = (first >= 48 && first <= 57) || first === 43 || first === 45 || first === 46 || first === 116 || first === 84 || first === 102 || first === 70;
  if (!mayBeNumberOrBool) return text;
  if (BOOL.test(text)) return text[0] === 't' || text[0] === 'T';
  if (INT_OCT.test(text)) return parseInt(text.slice(2), 8);
  if (INT.test(text)) return parseInt(text, 10);
  if (INT_HEX.test(text)) return parseInt(text.slice(2), 16);
  if (FLOAT_NAN.test(text)) return text.slice(-3).toLowerCase() === 'nan' ? NaN : text[0] === '-' ? -Infinity : Infinity;
  if (FLOAT_EXP.test(text) || FLOAT.test(text)) return parseFloat(text);
  return text;
}
