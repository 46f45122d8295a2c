/**
 * Aliases make one parsed collection appear in several places of a document's value (js-yaml and the `yaml`
 * package's toJS both return the anchored object itself). The engine copies documents before it changes them
 * (kustomize transformers, patches), but structuredClone keeps the sharing, so a patch on `containers/0` would
 * also change an aliased `containers/1`; kustomize itself expands aliases into copies. So every place after the
 * first gets its own deep copy. The alias cap bounds how much this can copy. Throws CyclicAliasError for a value
 * that contains itself.
 */
export function unshareAliases(value: unknown): unknown {
  const seen = new Set<object>();
  const visit = (node: unknown): unknown => {
    if (typeof node !== 'object' || node === null) return node;
    if (seen.has(node)) return deepCopy(node);
    seen.add(node);
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) node[i] = visit(node[i]);
    } else {
      const record = node as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        const item = record[key];
        const copy = visit(item);
        if (copy !== item) setOwn(record, key, copy);
      }
    }
    return node;
  };
  return visit(value);
}

/** An alias inside the collection its anchor names (`&x [*x]`): the `yaml` package returns a value that contains itself. */
export class CyclicAliasError extends Error {
  constructor() {
    super('an alias refers to a collection that contains it (a cycle)');
  }
}

function deepCopy(node: unknown, ancestors = new Set<object>()): unknown {
  if (typeof node !== 'object' || node === null) return node;
  if (ancestors.has(node)) throw new CyclicAliasError();
  ancestors.add(node);
  let copy: unknown;
  if (Array.isArray(node)) copy = node.map((item) => deepCopy(item, ancestors));
  else {
    const record: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(node)) setOwn(record, key, deepCopy(item, ancestors));
    copy = record;
  }
  ancestors.delete(node);
  return copy;
}

function setOwn(record: Record<string, unknown>, key: string, value: unknown): void {
  // An own `__proto__` key (the `yaml` package defines it as a property) must not set the object's prototype.
  if (key === '__proto__') Object.defineProperty(record, key, { value, writable: true, enumerable: true, configurable: true });
  else record[key] = value;
}
