/**
 * The fast path: js-yaml parses the file, and its `listener` (an `open` and a `close` event around every node)
 * gives each node's position, from which we build the line table that `lineOf` walks. On the generated 5.7 MB
 * corpus this takes about 0.4 s of CPU (js-yaml alone 0.28 s, the former hand-written parser 0.2 s, the `yaml`
 * package 5.5 s); the listener work is the difference.
 *
 * The `yaml` package stays the reference: whenever js-yaml throws or warns, or the file uses anything whose
 * meaning or line numbers could differ between the two (tags, merge keys, explicit `?` keys, anchors on keys or
 * empty nodes, aliases as keys or below their key's line, an alias count the `yaml` package could refuse,
 * directives, `...`, tabs, a lone CR, a BOM, folded or indentation-indicator block scalars, scalars or flow
 * collections spanning lines, escapes beyond the simple ones, non-string keys that do not print as written,
 * a scalar or flow collection as a document...), this returns undefined and the caller parses the whole file
 * with the `yaml` package. Every plain scalar js-yaml resolved is checked against the `yaml` package's own
 * core-schema tags (js-yaml reads `1_000`, `0b1`, `-0x1` as numbers; the `yaml` package does not).
 * Anchors on scalars and collections and aliases to them stay here (the `&port 8080` ... `*port` of most Helm
 * values), with the `yaml` package's lines: an anchored node's line is its content's, an alias's line is the
 * alias's, and the nodes inside an aliased collection have the lines of the anchored original. Its alias cap is
 * replayed (see `Anchor`): a document it would refuse goes to the `yaml` package, which makes the finding.
 * The differential tests in test/yaml hold both paths to identical values, lines and findings.
 */
import jsyaml from 'js-yaml';
import { isScalar, Schema, type ScalarTag } from 'yaml';
import { unshareAliases } from './unshare.js';

/**
 * The lines of a file's nodes, for lineOf: one Int32Array per file, holding one block per container node,
 * `[n, line, block, line, block...]` for its n children, where `line` is the 1-based line of the child value node and
 * `block` the offset of the child's own block when it is a non-empty container, else NO_BLOCK. A sequence's children
 * are in item order; a mapping's in the order of its value's own keys (`for...in`, which is source order unless a key
 * is an integer index), so neither keys nor one array per container are kept: the parsed values and this table are
 * what the resolver holds per file for the whole run, and nested arrays of keys were most of it (bench/desired-state.ts).
 */
export type LineTable = Int32Array;
/** A child that has no block (a scalar, an empty node, an empty container). */
export const NO_BLOCK = -1;

export interface FastDocument {
  index: number;
  value: unknown;
  startLine: number;
  /** Offset of the root node's block in the file's table; NO_BLOCK for an empty document. */
  root: number;
}

export interface FastParseResult {
  documents: FastDocument[];
  /** The blocks of every document of the file. */
  lines: LineTable;
}

/** The listener's view of js-yaml's parser state (fields the published types leave out included). */
interface ParserState {
  input: string;
  position: number;
  line: number;
  lineStart: number;
  kind: string | null;
  result: unknown;
}

/** A parsed node, as its parent sees it. */
interface NodeRecord {
  result: unknown;
  /** 'scalar', 'mapping', 'sequence', or null for an empty node (`key:` with nothing). */
  kind: string | null;
  /** Offset where the node's content starts (where the node opened, for an empty node). */
  start: number;
  /** 1-based line of `start`. */
  line: number;
  /** Offset, 0-based line and line start where the parser stood when the node closed. */
  end: number;
  endLine: number;
  endLineStart: number;
  /** The source text of a plain scalar; undefined for other nodes. */
  plain: string | undefined;
  /** Offset of a container's block in the table (NO_BLOCK for other nodes). */
  tree: number;
  /** The node has an anchor (`&name`). */
  anchored: boolean;
  /** A scalar, an empty node or a mapping pair is reachable without going through an alias (see Anchor.leaves). */
  leaves: boolean;
}

/**
 * One anchor definition of the current document, with what the `yaml` package's alias cap counts for it (its
 * `Alias.resolve` and `getAliasCount`, replayed in source order as js-yaml closes the nodes): `count` starts at 1
 * and grows by one per alias; `aliasCount`, set at the first alias (and recomputed while 0, which stays 0: only an
 * anchor without scalars or pairs whose inner aliases all count 0 counts 0), is the largest of 1 when the node holds
 * a scalar or a pair (`leaves`) and, for each alias inside it, that anchor's `count * aliasCount`. An alias whose
 * `count * aliasCount` passes the cap makes the `yaml` package refuse the document.
 */
interface Anchor {
  /** Where the anchored node's content starts. */
  start: number;
  /** js-yaml's value for the anchor (what its aliases return), and the value the tree holds (a trimmed array copy). */
  original: unknown;
  result: unknown;
  tree: number;
  leaves: boolean;
  /** The aliases inside the anchored node: entries `nestedFrom` to `nestedTo` of the document's aliases, in order. */
  nestedFrom: number;
  nestedTo: number;
  count: number;
  aliasCount: number;
  counted: boolean;
}

interface Frame {
  position: number;
  line: number;
  lineStart: number;
  /** The records of the node's children: the first `count` entries (records and array are reused). */
  children: NodeRecord[];
  count: number;
  /** How many aliases of the document had closed when the node opened. */
  aliasesBefore: number;
}

class GiveUp extends Error {}
const GIVE_UP = new GiveUp('outside the fast path');

/** The `yaml` package's core-schema tags that resolve plain scalars, in the order it tries them. */
const CORE_PLAIN_TAGS = new Schema({ schema: 'core' }).tags.filter(
  (tag): tag is ScalarTag & { test: RegExp } => tag.default === true && 'test' in tag && tag.test instanceof RegExp,
);
/** Any of them: a plain scalar matching none stays a string. */
const CORE_PLAIN_TEST = new RegExp(`^(?:${CORE_PLAIN_TAGS.map((tag) => `(?:${tag.test.source})`).join('|')})`);
const IGNORE = (): void => {};
/** `|`, `|-`, `|+`, optionally followed by a comment. */
const LITERAL_HEADER = /^\|[+-]?(?: +#.*| *)$/;
/** Tabs, CRs, and directives or document end markers (`%`, `...` at the start of a line). */
const RISKY_TEXT = /[\t\r]|^(?:%|\.\.\.)/m;
/** A backslash not followed by one of the simple escapes. */
const OTHER_ESCAPE = /\\[^\\"/ntr0 ]/;
/** An anchor or alias name as both parsers read it (up to a space, line end or flow indicator), from a plain alphabet. */
const NAME = /[^\s,[\]{}]*/y;
const PLAIN_NAME = /^[A-Za-z0-9_.-]+$/;
/** The `yaml` package's default alias cap (MAX_YAML_ALIAS_COUNT in load.ts). */
const DEFAULT_MAX_ALIAS_COUNT = 100;
/** Inner aliases the alias-cap replay may read per file (each anchored node's once) before leaving the file to the `yaml` package. */
const MAX_ALIAS_WORK = 100_000;

const Char = { LineFeed: 10, Space: 32, Hash: 35, Ampersand: 38, Minus: 45 } as const;

/**
 * Gives one string per text, a copy that does not point into the file's text. js-yaml cuts scalars out of the file
 * (V8 keeps strings of 13 characters or more as slices of it), so one kept value kept the whole text alive.
 */
export type StringPool = (text: string) => string;

/** A StringPool over a Map: the first copy of each text is kept (and the Map holds copies, never slices). */
export function createStringPool(): StringPool {
  const pool = new Map<string, string>();
  return (text) => {
    let kept = pool.get(text);
    if (kept === undefined) {
      // structuredClone copies a string's characters (a slice, `+ ''` or normalize() would keep the original).
      kept = structuredClone(text);
      pool.set(kept, kept);
    }
    return kept;
  };
}

/** Strings this long or longer are slices of the text in V8 (SlicedString::kMinLength); shorter ones are copies. */
const SLICE_MIN_LENGTH = 13;

/**
 * Parses a whole file, or returns undefined when the `yaml` package must parse it. With `strings`, string values
 * long enough to be slices of the text are replaced by the pool's copies. `maxAliasCount`: the cap the caller gives
 * the `yaml` package's `toJS`.
 */
export function fastParseYaml(source: string, strings?: StringPool, maxAliasCount = DEFAULT_MAX_ALIAS_COUNT): FastParseResult | undefined {
  let text = source;
  if (text.charCodeAt(0) === 0xfeff) return undefined;
  const risky = RISKY_TEXT.exec(text);
  if (risky) {
    // CRLF line ends change nothing in block YAML; a lone CR is a line break we leave to the `yaml` package.
    if (risky[0] !== '\r') return undefined;
    text = text.replaceAll('\r\n', '\n');
    if (RISKY_TEXT.test(text)) return undefined;
  }

  const builder = new TableBuilder(text, strings, maxAliasCount);
  let parsed: unknown[];
  try {
    parsed = jsyaml.loadAll(text, null, {
      schema: jsyaml.CORE_SCHEMA,
      json: false,
      listener: (event, state) => builder.event(event, state as unknown as ParserState),
      onWarning: () => {
        throw GIVE_UP;
      },
    });
  } catch {
    // Syntax errors, duplicate keys and everything outside the fast path: the `yaml` package decides.
    return undefined;
  }
  if (parsed.length !== builder.documents.length) return undefined;
  return { documents: builder.documents, lines: builder.table() };
}

class TableBuilder {
  readonly documents: FastDocument[] = [];
  /** Frames of the open nodes, reused: `frames[depth - 1]` is the innermost. */
  private readonly frames: Frame[] = [];
  private depth = 0;
  /** The record of a document's root node. */
  private readonly root = emptyRecord();

  /** Explicit keys (`? key`) are rare: look for them only when the text has a `?` before a space or line end. */
  private readonly mayHaveExplicitKeys: boolean;
  /** The line table being written (blocks in the order their containers close), and how much of it is used. */
  private lines: Int32Array;
  private used = 0;
  /** The current document's anchors by name (the latest definition wins), and the anchors its aliases used, in order. */
  private readonly anchors = new Map<string, Anchor>();
  private readonly aliased: Anchor[] = [];
  /** Inner aliases read to replay the alias cap, in the whole file. */
  private aliasWork = 0;
  /** An alias in the current document returned a collection: the document's value shares it. */
  private sharesCollections = false;
  /** Where the node being closed starts (after its anchor) and the 1-based line there; set by skipBlank. */
  private at = 0;
  private atLine = 0;

  constructor(
    private readonly text: string,
    private readonly strings: StringPool | undefined,
    private readonly maxAliasCount: number,
  ) {
    this.mayHaveExplicitKeys = text.includes('? ') || text.includes('?\n') || text.endsWith('?');
    // About one container per 40 characters of manifest, and 3 ints per child; grown by doubling when short.
    this.lines = new Int32Array(Math.max(64, text.length >> 3));
  }

  /** The table, trimmed to what the blocks use. */
  table(): LineTable {
    return this.lines.slice(0, this.used);
  }

  /** Reserves a block for `children` children and returns its offset. */
  private block(children: number): number {
    const at = this.used;
    const end = at + 1 + 2 * children;
    if (end > this.lines.length) {
      const grown = new Int32Array(Math.max(end, 2 * this.lines.length));
      grown.set(this.lines.subarray(0, at));
      this.lines = grown;
    }
    this.lines[at] = children;
    this.used = end;
    return at;
  }

  event(event: 'open' | 'close', state: ParserState): void {
    if (event === 'open') {
      if (this.depth === 0) {
        // A document's root: js-yaml forgets the anchors of the previous document, and so does the `yaml` package.
        this.anchors.clear();
        this.aliased.length = 0;
        this.sharesCollections = false;
      }
      const frame = this.frames[this.depth];
      if (frame) {
        frame.position = state.position;
        frame.line = state.line;
        frame.lineStart = state.lineStart;
        frame.count = 0;
        frame.aliasesBefore = this.aliased.length;
      } else {
        const aliasesBefore = this.aliased.length;
        this.frames.push({ position: state.position, line: state.line, lineStart: state.lineStart, children: [], count: 0, aliasesBefore });
      }
      this.depth++;
      return;
    }
    if (this.depth === 0) throw GIVE_UP;
    this.depth--;
    // The node's record goes to its parent's next slot, reused from earlier nodes: no allocation per node.
    let record = this.root;
    if (this.depth > 0) {
      const parent = this.frames[this.depth - 1] as Frame;
      record = parent.children[parent.count] ??= emptyRecord();
      parent.count++;
    }
    this.close(this.frames[this.depth] as Frame, state, record);
    if (this.depth > 0) return;
    // A document's root: a block mapping or sequence, or nothing.
    if (record.kind !== null && (record.kind === 'scalar' || !this.startsLine(record.start) || isFlowStart(this.text, record.start))) {
      throw GIVE_UP;
    }
    // Like the `yaml` package's values after load.ts: every place an alias put a collection gets its own copy.
    const value = this.sharesCollections ? unshareAliases(record.result) : record.result;
    this.documents.push({ index: this.documents.length, value, startLine: record.line, root: record.tree });
  }

  /** Moves `at`/`atLine` past the spaces, line breaks and comments js-yaml skips before a node's content. */
  private skipBlank(): void {
    const text = this.text;
    let start = this.at;
    let line = this.atLine;
    for (let c = text.charCodeAt(start); ; c = text.charCodeAt(start)) {
      if (c === Char.Space) start++;
      else if (c === Char.LineFeed) {
        start++;
        line++;
      } else if (c === Char.Hash) {
        const lineEnd = text.indexOf('\n', start);
        start = lineEnd === -1 ? text.length : lineEnd;
      } else break;
    }
    this.at = start;
    this.atLine = line;
  }

  /** The anchor or alias name after the `&` or `*` at `position`, or GIVE_UP when it is not a plain one. */
  private nameAt(position: number): string {
    NAME.lastIndex = position + 1;
    const name = (NAME.exec(this.text) as RegExpExecArray)[0];
    if (!PLAIN_NAME.test(name)) throw GIVE_UP;
    return name;
  }

  /** Fills `record` for the node that just closed, and defines its anchor, or throws GIVE_UP. */
  private close(frame: Frame, state: ParserState, record: NodeRecord): void {
    // What js-yaml stored for the node's anchor, before fill() may swap state.result for a trimmed copy.
    const original: unknown = state.result;
    const anchor = this.fill(frame, state, record);
    if (anchor === undefined) return;
    // The same name defined again inside the node: the `yaml` package's aliases after it take the inner definition
    // (it orders anchors by where their nodes start), js-yaml's the outer one (it stores it again once the node is read).
    const inner = this.anchors.get(anchor);
    if (inner !== undefined && inner.start > frame.position && inner.start !== record.start) throw GIVE_UP;
    this.anchors.set(anchor, {
      start: record.start,
      original,
      result: record.result,
      tree: record.tree,
      leaves: record.leaves,
      nestedFrom: frame.aliasesBefore,
      nestedTo: this.aliased.length,
      count: 1,
      aliasCount: 0,
      counted: false,
    });
  }

  /** Fills `record` for the node that just closed and returns its anchor's name, or throws GIVE_UP. */
  private fill(frame: Frame, state: ParserState, record: NodeRecord): string | undefined {
    const text = this.text;
    const kind = state.kind ?? null;
    let result: unknown = state.result;
    if (this.strings && typeof result === 'string' && result.length >= SLICE_MIN_LENGTH) {
      // The parent reads state.result once this node has closed: it keeps the pool's copy, not a slice of the file.
      result = state.result = this.strings(result);
    }
    record.result = result;
    record.kind = kind;
    record.start = frame.position;
    record.line = frame.line + 1;
    record.end = state.position;
    record.endLine = state.line;
    record.endLineStart = state.lineStart;
    record.plain = undefined;
    record.tree = NO_BLOCK;
    record.anchored = false;
    record.leaves = true;

    // The node's content starts after the spaces, line breaks and comments js-yaml skips once the node has opened.
    this.at = frame.position;
    this.atLine = frame.line + 1;
    this.skipBlank();
    let anchor: string | undefined;
    if (text.charCodeAt(this.at) === Char.Ampersand) {
      // `&name`, then the content, perhaps on a later line (`key: &name` above a block collection).
      anchor = this.nameAt(this.at);
      this.at += 1 + anchor.length;
      if (kind !== null && !isBlankOrEnd(text.charCodeAt(this.at))) throw GIVE_UP;
      this.skipBlank();
      record.anchored = true;
    }
    const start = this.at;
    const line = this.atLine;
    const first = text[start];
    // An empty node: its line is where it opened (the key's or the dash's line). Anchored, it is the `yaml` package's.
    if (kind === null && (result === null || result === undefined)) {
      if (anchor !== undefined || first === '*') throw GIVE_UP;
      return undefined;
    }
    record.start = start;
    record.line = line;
    if (kind === null) {
      // An alias (js-yaml leaves `kind` unset): on its key's or dash's line, like every scalar here.
      if (first !== '*' || anchor !== undefined || line !== frame.line + 1) throw GIVE_UP;
      const only = frame.count === 1 ? frame.children[0] : undefined;
      if (only && only.kind === 'alias' && only.start === start && Object.is(only.result, result)) {
        Object.assign(record, only);
        return undefined;
      }
      this.alias(this.nameAt(start), state, record);
      return undefined;
    }

    const flow = first === '[' || first === '{';
    // Only block collections may start below the line where the node opened (`key:` then the value on the next line).
    if ((kind === 'scalar' || flow) && line !== frame.line + 1) throw GIVE_UP;
    // A node that only wraps the one child it read (a sequence entry's scalar, read as a would-be mapping key) is that child.
    const only = frame.count === 1 ? frame.children[0] : undefined;
    if (only && only.kind !== null && only.start === start && Object.is(only.result, result)) {
      Object.assign(record, only);
      record.anchored ||= anchor !== undefined;
      return anchor;
    }
    // Tags, a second anchor, an anchored alias, explicit keys.
    if (first === '!' || first === '&' || first === '*' || (first === '?' && isBlankOrEnd(text.charCodeAt(start + 1)))) throw GIVE_UP;

    if (kind === 'scalar') {
      if (first === '|' || first === '>') this.checkBlockScalar(record);
      else if (first === '"' || first === "'") {
        if (state.line + 1 !== line) throw GIVE_UP; // a quoted scalar over several lines
        if (first === '"') {
          const raw = text.slice(start, state.position);
          if (raw.includes('\\') && OTHER_ESCAPE.test(raw)) throw GIVE_UP;
        }
      } else if (state.line + 1 === line && typeof result === 'string') {
        // One line, left a string by js-yaml: its value is its text, and the `yaml` package must leave it a string too.
        if (CORE_PLAIN_TEST.test(result)) throw GIVE_UP;
        record.plain = result;
      } else {
        let raw = text.slice(start, state.position);
        const lineBreak = raw.indexOf('\n');
        if (lineBreak !== -1) {
          // js-yaml may stop on the next line, at a comment; anything else there continues the scalar.
          if (raw.slice(lineBreak).trim() !== '') throw GIVE_UP;
          raw = raw.slice(0, lineBreak);
        }
        raw = raw.trimEnd();
        if (!Object.is(resolveLikeYamlPackage(raw), result)) throw GIVE_UP;
        record.plain = raw;
      }
      return anchor;
    }

    if (flow) {
      if (state.line + 1 !== line) throw GIVE_UP; // a flow collection over several lines
    } else if (!this.startsLine(start) && !(kind === 'mapping' && this.followsDash(start))) {
      throw GIVE_UP; // `- - x`, `--- a: 1`
    }
    if (kind === 'mapping') this.mapping(record, frame.children, frame.count, flow);
    else if (kind === 'sequence') {
      this.sequence(record, frame.children, frame.count, flow);
      // js-yaml fills arrays with push(), which leaves room for 16 more items, and parsed values are kept for the
      // whole run: the parent (which reads state.result once this node has closed) gets an exact copy instead.
      const items = record.result as unknown[];
      if (items.length > 0) state.result = record.result = items.slice();
    } else throw GIVE_UP;
    return anchor;
  }

  /**
   * Fills `record` for an alias: the alias's own line, and the anchored node's value and block, so that the nodes
   * inside an aliased collection have the lines of the original, as the `yaml` package's lineOf resolves them.
   */
  private alias(name: string, state: ParserState, record: NodeRecord): void {
    const anchor = this.anchors.get(name);
    // js-yaml's value must be the definition we saw (not one it read and rolled back, not a node still open).
    if (anchor === undefined || !Object.is(anchor.original, state.result)) throw GIVE_UP;
    anchor.count++;
    if (!anchor.counted) {
      let aliasCount = anchor.leaves ? 1 : 0;
      // Each anchor reads its inner aliases once; past a budget (anchors nested deep around many aliases), the `yaml` package decides.
      this.aliasWork += anchor.nestedTo - anchor.nestedFrom;
      if (this.aliasWork > MAX_ALIAS_WORK) throw GIVE_UP;
      for (let i = anchor.nestedFrom; i < anchor.nestedTo; i++) {
        const inner = this.aliased[i] as Anchor;
        aliasCount = Math.max(aliasCount, inner.count * inner.aliasCount);
      }
      anchor.aliasCount = aliasCount;
      anchor.counted = true;
    }
    // The `yaml` package would refuse the document as an alias bomb: it makes the finding.
    if (anchor.count * anchor.aliasCount > this.maxAliasCount) throw GIVE_UP;
    this.aliased.push(anchor);
    if (typeof anchor.result === 'object' && anchor.result !== null) this.sharesCollections = true;
    state.result = record.result = anchor.result;
    record.kind = 'alias';
    record.tree = anchor.tree;
    record.leaves = false;
  }

  private mapping(record: NodeRecord, children: readonly NodeRecord[], childCount: number, flow: boolean): void {
    const map = record.result;
    if (typeof map !== 'object' || map === null || Array.isArray(map)) throw GIVE_UP;
    // The key js-yaml tried at a line that turned out to be the next document's `---`.
    const count = childCount % 2 === 1 && children[childCount - 1]?.kind === null ? childCount - 1 : childCount;
    if (count % 2 === 1) throw GIVE_UP;
    // Keys without values (`{a, b: 1}`, `? a`) would pair keys with the wrong nodes; a block mapping has none without `?`.
    if ((flow || this.mayHaveExplicitKeys) && count !== 2 * Object.keys(map).length) throw GIVE_UP;
    const pairs = count / 2;
    const block = pairs === 0 ? NO_BLOCK : this.block(pairs);
    const lines = this.lines;
    // Keys that are integer indices come first in the value's own key order, whatever their place in the source.
    let digitKey = false;
    for (let i = 0; i < count; i += 2) {
      const key = children[i] as NodeRecord;
      const value = children[i + 1] as NodeRecord;
      if (key.kind !== 'scalar' || key.result === null || key.result === undefined) throw GIVE_UP;
      const name = typeof key.result === 'string' ? key.result : String(key.result);
      // The `yaml` package turns a number or boolean key back into text; it must be the text as written.
      if (key.plain !== undefined && typeof key.result !== 'string' && name !== key.plain) throw GIVE_UP;
      if (name === '<<' || name === '__proto__' || key.anchored) throw GIVE_UP;
      if (this.mayHaveExplicitKeys) {
        // An explicit `? key`.
        let before = key.start - 1;
        while (this.text.charCodeAt(before) === Char.Space) before--;
        if (this.text[before] === '?') throw GIVE_UP;
      }
      const c = name.charCodeAt(0);
      if (c >= 48 && c <= 57) digitKey = true;
      lines[block + 1 + i] = value.line;
      lines[block + 2 + i] = value.tree;
    }
    if (digitKey) this.inKeyOrder(map, block, children, count);
    record.tree = block;
    record.leaves = pairs > 0;
  }

  /** Reorders a mapping block's children from source order to the order of the value's own keys. */
  private inKeyOrder(map: object, block: number, children: readonly NodeRecord[], count: number): void {
    const bySource = new Map<string, number>();
    for (let i = 0; i < count; i += 2) bySource.set(String((children[i] as NodeRecord).result), i);
    const lines = this.lines;
    const source = lines.slice(block + 1, block + 1 + count);
    let i = 0;
    for (const key of Object.keys(map)) {
      const from = bySource.get(key);
      if (from === undefined || i >= count) throw GIVE_UP;
      lines[block + 1 + i] = source[from] as number;
      lines[block + 2 + i] = source[from + 1] as number;
      i += 2;
    }
    if (i !== count) throw GIVE_UP;
  }

  private sequence(record: NodeRecord, children: readonly NodeRecord[], count: number, flow: boolean): void {
    const items = record.result;
    if (!Array.isArray(items)) throw GIVE_UP;
    if (items.length !== count) {
      // A block sequence's empty entries (`-` alone) have no node; with null values besides, they could not be told apart.
      if (flow) throw GIVE_UP;
      for (let i = 0; i < count; i++) if ((children[i] as NodeRecord).result === null) throw GIVE_UP;
    }
    const text = this.text;
    const block = items.length === 0 ? NO_BLOCK : this.block(items.length);
    const lines = this.lines;
    const column = record.start - this.lineStartOf(record.start);
    let next = 0;
    // Where the search for the next entry's dash starts: a position, its 1-based line, and that line's start.
    let at = record.start;
    let atLine = record.line;
    let atLineStart = record.start - column;
    for (let i = 0; i < items.length; i++) {
      const item: unknown = items[i];
      const child = next < count ? children[next] : undefined;
      if (child && child.kind !== null && Object.is(child.result, item)) {
        lines[block + 1 + 2 * i] = child.line;
        lines[block + 2 + 2 * i] = child.tree;
        next++;
        at = child.end;
        atLine = child.endLine + 1;
        atLineStart = child.endLineStart;
        continue;
      }
      if (item !== null || flow) throw GIVE_UP;
      // An empty entry: its line is its dash's, the first line after the previous entry with a dash at the column.
      if (i > 0) {
        if (at - atLineStart > column) {
          atLineStart = text.indexOf('\n', at) + 1;
          atLine++;
        }
        while (!isDashAt(text, atLineStart, column)) {
          const lineEnd = text.indexOf('\n', atLineStart);
          if (lineEnd === -1) throw GIVE_UP;
          atLineStart = lineEnd + 1;
          atLine++;
        }
      }
      lines[block + 1 + 2 * i] = atLine;
      lines[block + 2 + 2 * i] = NO_BLOCK;
      at = atLineStart + column + 1;
    }
    if (next !== count) throw GIVE_UP;
    record.tree = block;
    // Empty entries are null scalars to the `yaml` package.
    let leaves = items.length > count;
    for (let i = 0; i < count && !leaves; i++) leaves = (children[i] as NodeRecord).leaves;
    record.leaves = leaves;
  }

  /** Literal block scalars only, with a final line break, content, and no blank line longer than the content's indentation. */
  private checkBlockScalar(record: NodeRecord): void {
    const text = this.text;
    const headerEnd = text.indexOf('\n', record.start);
    if (headerEnd === -1 || !LITERAL_HEADER.test(text.slice(record.start, headerEnd))) throw GIVE_UP;
    if (record.end >= text.length && !text.endsWith('\n')) throw GIVE_UP;
    // The body: the lines after the header, up to the line where the parser stopped.
    const body = text.slice(headerEnd + 1, Math.min(record.endLineStart, text.length)).split('\n');
    if (body.at(-1) === '') body.pop();
    let indent = -1;
    for (const bodyLine of body) {
      if (bodyLine.trim() !== '') {
        indent = bodyLine.length - bodyLine.trimStart().length;
        break;
      }
    }
    if (indent === -1) throw GIVE_UP; // an empty block scalar
    for (const bodyLine of body) if (bodyLine.length > indent && bodyLine.trim() === '') throw GIVE_UP;
  }

  private lineStartOf(position: number): number {
    return this.text.lastIndexOf('\n', position - 1) + 1;
  }

  /** Only spaces before `position` on its line. */
  private startsLine(position: number): boolean {
    for (let i = position - 1; i >= 0; i--) {
      const c = this.text.charCodeAt(i);
      if (c === Char.LineFeed) return true;
      if (c !== Char.Space) return false;
    }
    return true;
  }

  /** Only spaces, one dash, and spaces before `position` on its line (`- key: value`). */
  private followsDash(position: number): boolean {
    let i = position - 1;
    while (this.text.charCodeAt(i) === Char.Space) i--;
    return this.text.charCodeAt(i) === Char.Minus && i < position - 1 && this.startsLine(i);
  }
}

function emptyRecord(): NodeRecord {
  return {
    result: null,
    kind: null,
    start: 0,
    line: 0,
    end: 0,
    endLine: 0,
    endLineStart: 0,
    plain: undefined,
    tree: NO_BLOCK,
    anchored: false,
    leaves: true,
  };
}

function isFlowStart(text: string, position: number): boolean {
  const c = text[position];
  return c === '[' || c === '{';
}

function isBlankOrEnd(c: number): boolean {
  return c === Char.Space || c === Char.LineFeed || Number.isNaN(c);
}

function isDashAt(text: string, lineStart: number, column: number): boolean {
  for (let i = 0; i < column; i++) if (text.charCodeAt(lineStart + i) !== Char.Space) return false;
  return text.charCodeAt(lineStart + column) === Char.Minus && isBlankOrEnd(text.charCodeAt(lineStart + column + 1));
}

/** A plain scalar as the `yaml` package resolves it (YAML 1.2 core schema), by its own tags. */
function resolveLikeYamlPackage(text: string): unknown {
  for (const tag of CORE_PLAIN_TAGS) {
    if (tag.test.test(text)) {
      const value = tag.resolve(text, IGNORE, {});
      return isScalar(value) ? value.value : value;
    }
  }
  return text;
}
