import type { Finding, SourceLocation, Workload } from '../../model.js';
import type { YamlDocument } from '../../yaml/index.js';
import { substituteVariables } from '../substitute.js';
import { isRecord, type Extracted, type ValuePath } from '../types.js';

export interface ComposeImageSite {
  /** `{ kind: 'ComposeService', name: <service key> }`. */
  workload: Workload;
  /** `container_name` when set, else the service key. */
  container: string;
  /** The image after compose interpolation of what could be resolved (`${TAG:-1.0}` → `1.0`). */
  written: string;
  /** The `image:` text exactly as in the file, when interpolation changed it. */
  raw?: string;
  /** Variables the image uses that have neither a value nor a default. */
  unresolved?: string[];
  /** True when the service also has `build:`: compose builds the image when it is missing instead of pulling it. */
  builds?: boolean;
  location: SourceLocation;
  path: ValuePath;
}

export interface ComposeOptions {
  /** Variables for interpolation (an `.env` file, CI variables). Defaults written in the file apply either way. */
  env?: Readonly<Record<string, string>>;
}

/** `services.*.image` of a docker compose document. Services that only `build:` are skipped with a note. */
export function extractComposeImages(document: YamlDocument, options: ComposeOptions = {}): Extracted<ComposeImageSite> {
  const sites: ComposeImageSite[] = [];
  const findings: Finding[] = [];
  const notes: string[] = [];
  const root = document.value;
  if (!isRecord(root) || !isRecord(root['services'])) return { sites, findings, notes };
  const env = options.env ?? {};

  for (const [service, definition] of Object.entries(root['services'])) {
    const servicePath: ValuePath = ['services', service];
    if (!isRecord(definition)) {
      if (definition !== null) findings.push(invalid(document, servicePath, `compose service "${service}" is not a mapping`));
      continue;
    }
    const image = definition['image'];
    const builds = definition['build'] !== undefined && definition['build'] !== null;
    if (image === undefined || image === null) {
      if (builds) notes.push(`${document.file}: compose service "${service}" is built from source (build:, no image:); not checked`);
      else if (definition['extends'] !== undefined) notes.push(`${document.file}: compose service "${service}" uses extends:; its image is not followed`);
      else findings.push(invalid(document, servicePath, `compose service "${service}" has neither image nor build`));
      continue;
    }
    const imagePath: ValuePath = [...servicePath, 'image'];
    if (typeof image !== 'string') {
      findings.push(invalid(document, imagePath, `compose service "${service}" has an image that is not a string (${typeof image})`));
      continue;
    }
    const { text, unresolved } = substituteVariables(image, env, { dialect: 'compose' });
    const containerName = definition['container_name'];
    const site: ComposeImageSite = {
      workload: { kind: 'ComposeService', name: service },
      container: typeof containerName === 'string' ? containerName : service,
      written: text,
      location: { file: document.file, line: document.lineOf(imagePath) },
      path: imagePath,
    };
    if (text !== image) site.raw = image;
    if (unresolved.length > 0) site.unresolved = unresolved;
    if (builds) site.builds = true;
    sites.push(site);
  }
  return { sites, findings, notes };
}

function invalid(document: YamlDocument, path: ValuePath, message: string): Finding {
  return { file: document.file, line: document.lineOf(path), code: 'INVALID_RESOURCE', message, severity: 'warning' };
}
