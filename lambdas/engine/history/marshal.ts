/**
 * Hand-written DynamoDB marshalling for the plain JSON-like values the history store writes
 * (@aws-sdk/util-dynamodb is not a dependency of this project).
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

export type Plain = string | number | boolean | null | Plain[] | { [key: string]: Plain | undefined };

export function toAttr(value: Plain): AttributeValue {
  if (value === null) return { NULL: true };
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`cannot store non-finite number ${value}`);
    return { N: String(value) };
  }
  if (typeof value === 'boolean') return { BOOL: value };
  if (Array.isArray(value)) return { L: value.map(toAttr) };
  return { M: toItem(value) };
}

/** Marshals an object, skipping undefined members. */
export function toItem(obj: { [key: string]: Plain | undefined }): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v !== undefined) out[k] = toAttr(v);
  }
  return out;
}

export function fromAttr(attr: AttributeValue): Plain {
  if (attr.S !== undefined) return attr.S;
  if (attr.N !== undefined) return Number(attr.N);
  if (attr.BOOL !== undefined) return attr.BOOL;
  if (attr.NULL !== undefined) return null;
  if (attr.L !== undefined) return attr.L.map(fromAttr);
  if (attr.M !== undefined) return fromItem(attr.M);
  if (attr.SS !== undefined) return [...attr.SS];
  if (attr.NS !== undefined) return attr.NS.map(Number);
  throw new TypeError('unsupported DynamoDB attribute type');
}

export function fromItem(item: Record<string, AttributeValue>): { [key: string]: Plain } {
  const out: { [key: string]: Plain } = {};
  for (const [k, v] of Object.entries(item)) out[k] = fromAttr(v);
  return out;
}

/** Reads helpers that narrow unmarshalled values without `any`. */
export const read = {
  str(obj: { [key: string]: Plain }, key: string): string | undefined {
    const v = obj[key];
    return typeof v === 'string' ? v : undefined;
  },
  num(obj: { [key: string]: Plain }, key: string): number | undefined {
    const v = obj[key];
    return typeof v === 'number' ? v : undefined;
  },
  bool(obj: { [key: string]: Plain }, key: string): boolean | undefined {
    const v = obj[key];
    return typeof v === 'boolean' ? v : undefined;
  },
  strings(obj: { [key: string]: Plain }, key: string): string[] {
    const v = obj[key];
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  },
  /** A JSON document stored as a string attribute (evidence, counts...). */
  json<T>(obj: { [key: string]: Plain }, key: string): T | undefined {
    const v = obj[key];
    if (typeof v !== 'string') return undefined;
    return JSON.parse(v) as T;
  },
};
