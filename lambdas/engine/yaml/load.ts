import { LineCounter, parseAllDocuments, type YAMLError } from 'yaml';
import type { Finding } from '../model.js';
import { createFastYamlDocument, createYamlDocument, type YamlDocument } from './document.js';
import { fastParseYaml, type StringPool } from './fast-path.js';
import { conflictMarkerFinding } from './conflict-markers.js';
import { unshareAliases } from './unshare.js';

export interface LoadYamlOptions {
  /** Files larger than this are skipped with LIMIT_EXCEEDED naming MAX_FILE_BYTES. Default 2 MiB (the sources' cap). */
  maxBytes?: number;
  /** Alias expansions allowed per document before it counts as an alias bomb. Default 100 (the yaml package's). */
  maxAliasCount?: number;
  /** Documents (empty ones included) a file may hold; past it the file is skipped with LIMIT_EXCEEDED. Default 10,000. */
  maxDocuments?: number;
  /** Try the fast parser for plain manifests first (default true); false always uses the `yaml` package. */
  fastPath?: boolean;
  /**
   * Where the fast path keeps the strings of values, so that kept documents do not keep their file's text alive
   * (and equal strings of several files are one); absent: values may be slices of the text.
   */
  strings?: StringPool;
}

export interface LoadedYaml {
  documents: YamlDocument[];
  findings: Finding[];
}

export const DEFAULT_MAX_YAML_BYTES = 2 * 1024 * 1024;
/** SECURITY: alias expansions per document (the yaml package's measure); past it: LIMIT_EXCEEDED, MAX_YAML_ALIAS_COUNT. */
export const MAX_YAML_ALIAS_COUNT = 100;
/**
 * SECURITY: documents per file. 2 MiB of `a: 1\n---\n` are 350,000 documents, each extracted, attributed and kept with
 * its line map; past this many the file is skipped with LIMIT_EXCEEDED naming MAX_YAML_DOCUMENTS.
 */
export const MAX_YAML_DOCUMENTS = 10_000;

// Reused across calls: with `fatal`, decode() throws on invalid UTF-8 instead of inserting U+FFFD.
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses every document of a YAML file. Never throws: unreadable input becomes findings with file and
 * line, and the valid documents of the same file are kept. Empty documents are skipped silently;
 * `List` kinds are returned as they are (the kubernetes extractor expands them).
 */
export function loadYamlDocuments(file: string, content: Buffer | string, options: LoadYamlOptions = {}): LoadedYaml {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_YAML_BYTES;
  const maxAliasCount = options.maxAliasCount ?? MAX_YAML_ALIAS_COUNT;
  const maxDocuments = options.maxDocuments ?? MAX_YAML_DOCUMENTS;
  const findings: Finding[] = [];

  const size = typeof content === 'string' ? Buffer.byteLength(content) : content.length;
  if (size > maxBytes) {
    findings.push(finding(file, 0, 'LIMIT_EXCEEDED', `file is ${size} bytes, over the cap of ${maxBytes} bytes per file (MAX_FILE_BYTES); skipped, so what it declares is unknown`, 'error'));
    return { documents: [], findings };
  }

  const text = decode(file, content, findings);
  if (text === undefined) return { documents: [], findings };
  const conflict = conflictMarkerFinding(file, text);
  if (conflict) return { documents: [], findings: [...findings, conflict] };

  const documents: YamlDocument[] = [];
  if (options.fastPath !== false) {
    const fast = fastParseYaml(text, options.strings, maxAliasCount);
    if (fast) {
      if (fast.documents.length > maxDocuments) return tooManyDocuments(file, fast.documents.length, maxDocuments);
      for (const doc of fast.documents) {
        if (doc.value === null || doc.value === undefined) continue;
        documents.push(createFastYamlDocument(file, doc.index, doc.value, doc.startLine, fast.lines, doc.root));
      }
      return { documents, findings };
    }
  }
  const lineCounter = new LineCounter();
  let parsed;
  try {
    parsed = parseAllDocuments(text, { lineCounter, merge: true, prettyErrors: false });
  } catch (error) {
    // The parser is not expected to throw, but pathological nesting can exhaust the stack.
    findings.push(finding(file, 0, 'YAML_ERROR', `cannot parse YAML: ${errorMessage(error)}`, 'error'));
    return { documents, findings };
  }
  if (!Array.isArray(parsed)) return { documents, findings }; // an empty stream
  if (parsed.length > maxDocuments) return tooManyDocuments(file, parsed.length, maxDocuments);

  parsed.forEach((doc, index) => {
    const fatal = doc.errors.filter((e) => e.code !== 'DUPLICATE_KEY');
    const duplicates = doc.errors.filter((e) => e.code === 'DUPLICATE_KEY');
    if (fatal.length > 0) {
      const first = fatal[0] as YAMLError;
      const more = fatal.length > 1 ? ` (and ${fatal.length - 1} more error${fatal.length > 2 ? 's' : ''})` : '';
      findings.push(
        finding(file, lineOfError(first, lineCounter), 'YAML_ERROR', `document ${index + 1}: ${firstLine(first.message)}${more}; document skipped`, 'error'),
      );
      return;
    }
    for (const duplicate of duplicates) {
      // Kept, like kubectl and Helm (last value wins), but the author almost certainly meant something else.
      findings.push(
        finding(file, lineOfError(duplicate, lineCounter), 'YAML_ERROR', `document ${index + 1}: duplicate key; the last value wins`, 'warning'),
      );
    }
    let value: unknown;
    let sharesCollections = false;
    try {
      value = doc.toJS({
        maxAliasCount,
        onAnchor: (anchored, count) => {
          if (count > 1 && typeof anchored === 'object' && anchored !== null) sharesCollections = true;
        },
      });
    } catch (error) {
      const line = doc.contents?.range ? lineCounter.linePos(doc.contents.range[0]).line : 0;
      const message = errorMessage(error);
      findings.push(
        /Excessive alias count/.test(message)
          ? finding(
              file,
              line,
              'LIMIT_EXCEEDED',
              `document ${index + 1}: alias expansion exceeds the cap of ${maxAliasCount} (MAX_YAML_ALIAS_COUNT; a "billion laughs" alias bomb?); document skipped`,
              'error',
            )
          : finding(file, line, 'YAML_ERROR', `document ${index + 1}: ${message}; document skipped`, 'error'),
      );
      return;
    }
    if (value === null || value === undefined) return; // empty or comment-only document
    // Each place an alias put a collection gets its own copy, as on the fast path (see unshare.ts).
    if (sharesCollections) {
      try {
        value = unshareAliases(value);
      } catch (error) {
        const line = doc.contents?.range ? lineCounter.linePos(doc.contents.range[0]).line : 0;
        findings.push(finding(file, line, 'YAML_ERROR', `document ${index + 1}: ${errorMessage(error)}; document skipped`, 'error'));
        return;
      }
    }
    documents.push(createYamlDocument(file, index, value, doc, lineCounter));
  });
  return { documents, findings };
}

function decode(file: string, content: Buffer | string, findings: Finding[]): string | undefined {
  if (typeof content === 'string') {
    if (content.includes('\0')) {
      findings.push(finding(file, 0, 'BINARY_FILE', 'file holds NUL characters: binary data, not YAML; skipped', 'warning'));
      return undefined;
    }
    return content;
  }
  if (content.includes(0)) {
    findings.push(finding(file, 0, 'BINARY_FILE', 'file holds NUL bytes: binary data, not YAML; skipped', 'warning'));
    return undefined;
  }
  try {
    return utf8.decode(content);
  } catch {
    findings.push(finding(file, lineOfInvalidUtf8(content), 'NOT_UTF8', 'file is not valid UTF-8; skipped', 'error'));
    return undefined;
  }
}

/** Line of the first byte sequence that is not UTF-8: re-decodes growing line prefixes only on failure. */
function lineOfInvalidUtf8(content: Buffer): number {
  let line = 1;
  let start = 0;
  while (start < content.length) {
    let end = content.indexOf(0x0a, start);
    if (end === -1) end = content.length;
    try {
      utf8.decode(content.subarray(start, end));
    } catch {
      return line;
    }
    start = end + 1;
    line++;
  }
  return 0;
}

function lineOfError(error: YAMLError, lineCounter: LineCounter): number {
  return lineCounter.linePos(error.pos[0]).line;
}

function tooManyDocuments(file: string, count: number, cap: number): LoadedYaml {
  const message = `file holds ${count} YAML documents, over the cap of ${cap} per file (MAX_YAML_DOCUMENTS); skipped, so what it declares is unknown`;
  return { documents: [], findings: [finding(file, 0, 'LIMIT_EXCEEDED', message, 'error')] };
}

function firstLine(message: string): string {
  const newline = message.indexOf('\n');
  return (newline === -1 ? message : message.slice(0, newline)).replace(/:$/, '');
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function finding(file: string, line: number, code: Finding['code'], message: string, severity: Finding['severity']): Finding {
  return { file, line, code, message, severity };
}
