/**
 * JSON 6902 patches (add, remove, replace, move, copy, test) on a resource, all or nothing,
 * as kustomize applies them (evanphx/json-patch): a failing operation fails the whole patch.
 */
import type { SourceLocation } from '../../model.js';
import { CONTAINER_FIELDS, isObject, type JsonObject, type PathSegment, type Provenance } from './resource.js';

export interface JsonPatchOperation {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
  /** Where a path inside the operation's `value` is written (`[]`: the value itself, or the operation when it has none). */
  locate: (path: PathSegment[]) => SourceLocation;
}

export class JsonPatchError extends Error {}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new JsonPatchError(`path ${JSON.stringify(pointer)} does not start with /`);
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(token: string, length: number, forInsert: boolean): number {
  if (forInsert && token === '-') return length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new JsonPatchError(`invalid array index ${JSON.stringify(token)}`);
  const index = Number(token);
  if (index > length || (!forInsert && index === length)) throw new JsonPatchError(`array index ${index} out of bounds`);
  return index;
}

function resolveParent(root: JsonObject, tokens: string[]): { parent: unknown; last: string } {
  if (tokens.length === 0) throw new JsonPatchError('operations on the whole document are not supported');
  let node: unknown = root;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(node)) node = node[arrayIndex(token, node.length, false)];
    else if (isObject(node) && token in node) node = node[token];
    else throw new JsonPatchError(`path element ${JSON.stringify(token)} does not exist`);
  }
  return { parent: node, last: tokens[tokens.length - 1] ?? '' };
}

function getAt(root: JsonObject, tokens: string[]): unknown {
  const { parent, last } = resolveParent(root, tokens);
  if (Array.isArray(parent)) return parent[arrayIndex(last, parent.length, false)];
  if (isObject(parent) && last in parent) return parent[last];
  throw new JsonPatchError(`path element ${JSON.stringify(last)} does not exist`);
}

type Undo = () => void;

function removeAt(root: JsonObject, tokens: string[], undo: Undo[]): unknown {
  const { parent, last } = resolveParent(root, tokens);
  if (Array.isArray(parent)) {
    const index = arrayIndex(last, parent.length, false);
    const [old] = parent.splice(index, 1);
    undo.push(() => parent.splice(index, 0, old));
    return old;
  }
  if (isObject(parent) && last in parent) {
    const old = parent[last];
    delete parent[last];
    undo.push(() => {
      parent[last] = old;
    });
    return old;
  }
  throw new JsonPatchError(`cannot remove missing path element ${JSON.stringify(last)}`);
}

function addAt(root: JsonObject, tokens: string[], value: unknown, undo: Undo[]): void {
  const { parent, last } = resolveParent(root, tokens);
  if (Array.isArray(parent)) {
    const index = arrayIndex(last, parent.length, true);
    parent.splice(index, 0, value);
    undo.push(() => parent.splice(index, 1));
  } else if (isObject(parent)) {
    const had = last in parent;
    const old = parent[last];
    parent[last] = value;
    undo.push(() => {
      if (had) parent[last] = old;
      else delete parent[last];
    });
  } else {
    throw new JsonPatchError(`cannot add to a scalar at ${JSON.stringify(last)}`);
  }
}

function replaceAt(root: JsonObject, tokens: string[], value: unknown, undo: Undo[]): void {
  const { parent, last } = resolveParent(root, tokens);
  if (Array.isArray(parent)) {
    const index = arrayIndex(last, parent.length, false);
    const old: unknown = parent[index];
    parent[index] = value;
    undo.push(() => {
      parent[index] = old;
    });
  } else if (isObject(parent) && last in parent) {
    const old = parent[last];
    parent[last] = value;
    undo.push(() => {
      parent[last] = old;
    });
  } else {
    throw new JsonPatchError(`cannot replace missing path element ${JSON.stringify(last)}`);
  }
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The container object an `.../containers/N/image` pointer designates, if that is what it designates. */
function containerOfImagePath(root: JsonObject, tokens: string[]): JsonObject | undefined {
  if (tokens.length < 3 || tokens[tokens.length - 1] !== 'image') return undefined;
  if (!CONTAINER_FIELDS.includes(tokens[tokens.length - 3] ?? '')) return undefined;
  try {
    const container = getAt(root, tokens.slice(0, -1));
    return isObject(container) ? container : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Applies the operations to `doc` in place. When an operation fails, every change is undone and
 * JsonPatchError is thrown: kustomize applies a patch whole or not at all.
 */
export function applyJsonPatch(doc: JsonObject, ops: JsonPatchOperation[], provenance: Provenance): void {
  const undo: Undo[] = [];
  const pushes: { container: JsonObject; location: SourceLocation }[] = [];
  try {
    for (const op of ops) applyOperation(doc, op, provenance, undo, pushes);
  } catch (error) {
    for (let i = undo.length - 1; i >= 0; i--) undo[i]?.();
    throw error;
  }
  for (const { container, location } of pushes) provenance.push(container, location);
}

function applyOperation(
  doc: JsonObject,
  op: JsonPatchOperation,
  provenance: Provenance,
  undo: Undo[],
  pushes: { container: JsonObject; location: SourceLocation }[],
): void {
  const tokens = parsePointer(op.path);
  const last = tokens[tokens.length - 1] ?? '';
  const parentField = tokens[tokens.length - 2] ?? '';
  const fresh = (): unknown => {
    const copy: unknown = structuredClone(op.value);
    provenance.adopt(copy, op.locate);
    // A container inserted whole (`/containers/-`, `/containers/0`) or a whole container list.
    if (CONTAINER_FIELDS.includes(parentField) && isObject(copy)) provenance.set(copy, [op.locate(['image'])]);
    if (CONTAINER_FIELDS.includes(last) && Array.isArray(copy)) {
      copy.forEach((item, i) => {
        if (isObject(item)) provenance.set(item, [op.locate([i, 'image'])]);
      });
    }
    return copy;
  };
  switch (op.op) {
    case 'add':
      if (!('value' in op)) throw new JsonPatchError('add without value');
      addAt(doc, tokens, fresh(), undo);
      break;
    case 'replace':
      if (!('value' in op)) throw new JsonPatchError('replace without value');
      replaceAt(doc, tokens, fresh(), undo);
      break;
    case 'remove':
      removeAt(doc, tokens, undo);
      break;
    case 'move': {
      const moved = removeAt(doc, parsePointer(op.from ?? ''), undo);
      addAt(doc, tokens, moved, undo);
      break;
    }
    case 'copy': {
      const copied = provenance.clone(getAt(doc, parsePointer(op.from ?? '')));
      addAt(doc, tokens, copied, undo);
      break;
    }
    case 'test':
      if (!deepEqual(getAt(doc, tokens), op.value)) throw new JsonPatchError(`test failed at ${op.path}`);
      break;
    default:
      throw new JsonPatchError(`unknown operation ${JSON.stringify(op.op)}`);
  }
  if (op.op !== 'remove' && op.op !== 'test') {
    const container = containerOfImagePath(doc, tokens);
    if (container) pushes.push({ container, location: op.locate([]) });
  }
}

export type { PathSegment };
