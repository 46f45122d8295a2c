/** Small shared types of the resolver: where in a YAML document something sits, and how findings are emitted. */
import type { Finding, FindingCode, FindingSeverity } from '../model.js';

/** A path inside a YAML document: mapping keys and sequence indexes. */
export type YamlPath = readonly (string | number)[];

/** The 1-based line of a path in one document; the nearest existing ancestor's line when the path is absent. */
export type Locate = (path: YamlPath) => number;

/** Emits a finding about a path of the document the emitter is bound to. */
export type Emit = (code: FindingCode, at: YamlPath, severity: FindingSeverity, message: string, hint?: string) => void;

export function emitterFor(file: string, locate: Locate, findings: Finding[]): Emit {
  return (code, at, severity, message, hint) => {
    findings.push({ file, line: locate(at), code, severity, message, ...(hint ? { hint } : {}) });
  };
}

/** What rendering one path (kustomization, chart or directory) produced. */
export interface RenderResult {
  images: import('./attribution.js').RenderedImage[];
  findings: Finding[];
  /** Repository files the render read: manifests, kustomizations, values files. */
  files: string[];
  /** Kustomization directories the render went through (the rendered one first). */
  kustomizationDirs: string[];
  /** Manifest documents that ended up in the output, so that Applications among them can be followed. */
  documents: import('../yaml/index.js').YamlDocument[];
  /** ServiceAccounts the render produced, with their imagePullSecrets. */
  serviceAccounts?: import('../extractors/kubernetes/index.js').ServiceAccountPullSecrets[];
}

export function emptyRender(): RenderResult {
  return { images: [], findings: [], files: [], kustomizationDirs: [], documents: [] };
}
