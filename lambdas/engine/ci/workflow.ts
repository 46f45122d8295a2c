/**
 * GitHub Actions workflows → the pushes they can make: which image names, with which tag patterns,
 * from which file lines and job. No I/O: the workflow files come from a FileTree already loaded.
 */
import type { Finding, FileTree } from '../model.js';
import { loadYamlDocuments, type YamlDocument, type YamlPath } from '../yaml/index.js';
import { childContext, evaluateTemplate, isRecord, refBoundsOf, type EvalContext, type RefBounds, type StepOutputs } from './context.js';
import { enabledRefs } from './conditions.js';
import { listInput, metadataActionOutputs } from './metadata-action.js';
import { anyValue, concat, oneOf, splitReference, text, type Pattern } from './pattern.js';
import { analyzeScript } from './shell.js';

/** One place in a workflow that pushes an image name with some tags. */
export interface CiPush {
  /** Workflow file, repository-relative (`.github/workflows/release.yml`). */
  workflow: string;
  /** `owner/name` of the repository holding the workflow, when it is not the audited one. */
  repository?: string;
  startLine: number;
  endLine: number;
  /** Job id; `caller → called` through reusable workflows. */
  job: string;
  /** What pushes: `docker/build-push-action`, `docker push`, ... */
  via: string;
  /** Image name pattern (registry/repository), unknown when the push is not understood. */
  name: Pattern;
  /** Tag patterns pushed for `name`. */
  tags: Pattern[];
  /** Image repository globs this push may speak for (config `sources:`); absent: any it names. */
  appliesTo?: readonly string[];
}

export interface CiModel {
  pushes: CiPush[];
  /** Workflow files read. */
  workflows: string[];
}

export interface CiExtractOptions {
  /** `owner/name` of the repository the workflows belong to, when known (`github.repository`). */
  repository?: string | undefined;
  /** Set on every push: the workflows come from another repository than the audited one. */
  external?: boolean;
  /** Image repository globs the pushes may speak for (config `sources:`). */
  appliesTo?: readonly string[];
}

export const WORKFLOW_DIR = '.github/workflows/';
const GORELEASER_FILES = ['.goreleaser.yaml', '.goreleaser.yml', 'goreleaser.yaml', 'goreleaser.yml'];
const MAX_CALL_DEPTH = 4;

export function isWorkflowFile(path: string): boolean {
  return path.startsWith(WORKFLOW_DIR) && !path.slice(WORKFLOW_DIR.length).includes('/') && /\.ya?ml$/i.test(path);
}

/** Reads every workflow of a tree. Unreadable workflows are skipped (their findings are returned, not raised). */
export function extractCiModel(tree: Pick<FileTree, 'paths' | 'read'>, options: CiExtractOptions = {}): { model: CiModel; findings: Finding[] } {
  const extractor = new WorkflowExtractor(tree, options);
  for (const file of tree.paths()) {
    if (!isWorkflowFile(file)) continue;
    const doc = extractor.document(file);
    if (!doc || !isRecord(doc.value) || !isRecord(doc.value['jobs'])) continue;
    extractor.model.workflows.push(file);
    // Workflows only called by others (`on: workflow_call` alone) are read through their callers.
    if (isCallOnly(doc.value['on'])) continue;
    extractor.workflow(doc, refBoundsOf(doc.value['on']), new Map(), '', 0);
  }
  return { model: extractor.model, findings: extractor.findings };
}

function isCallOnly(on: unknown): boolean {
  if (on === 'workflow_call') return true;
  if (Array.isArray(on)) return on.length === 1 && on[0] === 'workflow_call';
  return isRecord(on) && Object.keys(on).length === 1 && 'workflow_call' in on;
}

const IGNORED_ACTIONS = /^(?:actions\/|docker\/(?:login-action|setup-[\w-]+|metadata-action|scout-action)|sigstore\/|aquasecurity\/|anchore\/|github\/codeql-action)/i;
/** Actions that publish images in ways we do not model: they may push any tag. */
const PUBLISHING_ACTION = /push|publish|buildah|kaniko|goreleaser|ko-build|setup-ko|jib|bake|skaffold|docker|image|container|registry/i;

class WorkflowExtractor {
  readonly model: CiModel = { pushes: [], workflows: [] };
  readonly findings: Finding[] = [];
  private readonly documents = new Map<string, YamlDocument | undefined>();

  constructor(
    private readonly tree: Pick<FileTree, 'paths' | 'read'>,
    private readonly options: CiExtractOptions,
  ) {}

  document(file: string): YamlDocument | undefined {
    if (this.documents.has(file)) return this.documents.get(file);
    const content = this.tree.read(file);
    let doc: YamlDocument | undefined;
    if (content) {
      const loaded = loadYamlDocuments(file, content);
      this.findings.push(...loaded.findings);
      doc = loaded.documents[0];
    }
    this.documents.set(file, doc);
    return doc;
  }

  workflow(doc: YamlDocument, refs: RefBounds, inputs: Map<string, Pattern>, callerJob: string, depth: number): void {
    const wf = doc.value as Record<string, unknown>;
    const base: EvalContext = { repository: this.options.repository, refs, env: new Map(), matrix: new Map(), inputs, steps: new Map() };
    base.env = evaluateEnv(wf['env'], base);
    for (const [jobId, job] of Object.entries(wf['jobs'] as Record<string, unknown>)) {
      if (!isRecord(job)) continue;
      const jobName = callerJob ? `${callerJob} → ${jobId}` : jobId;
      const ctx = childContext(base, { matrix: matrixOf(job['strategy'], base) });
      for (const [name, value] of evaluateEnv(job['env'], ctx)) ctx.env.set(name, value);
      if (typeof job['uses'] === 'string') {
        this.reusable(doc, ['jobs', jobId], job, ctx, jobName, depth);
        continue;
      }
      const steps = Array.isArray(job['steps']) ? job['steps'] : [];
      const localRefs: Pattern[] = [];
      steps.forEach((step, index) => {
        if (isRecord(step)) this.step(doc, ['jobs', jobId, 'steps', index], step, ctx, jobName, localRefs);
      });
    }
  }

  private reusable(doc: YamlDocument, path: YamlPath, job: Record<string, unknown>, ctx: EvalContext, jobName: string, depth: number): void {
    const uses = String(job['uses']);
    const line = doc.lineOf([...path, 'uses']);
    const local = /^\.\/(\.github\/workflows\/[^/@]+\.ya?ml)$/.exec(uses.trim())?.[1];
    const called = local ? this.document(local) : undefined;
    if (!called || !isRecord(called.value) || !isRecord(called.value['jobs']) || depth >= MAX_CALL_DEPTH) {
      this.unknownPush(doc.file, line, line, jobName, `reusable workflow ${uses}`);
      return;
    }
    const inputs = new Map<string, Pattern>();
    const declared = isRecord(called.value['on']) && isRecord(called.value['on']['workflow_call']) ? called.value['on']['workflow_call']['inputs'] : undefined;
    if (isRecord(declared)) {
      for (const [name, spec] of Object.entries(declared)) {
        if (isRecord(spec) && spec['default'] !== undefined && spec['default'] !== null) inputs.set(name, evaluateTemplate(String(spec['default']), ctx));
      }
    }
    const given = job['with'];
    if (isRecord(given)) for (const [name, value] of Object.entries(given)) inputs.set(name, evaluateTemplate(String(value), ctx));
    this.workflow(called, ctx.refs, inputs, jobName, depth + 1);
  }

  private step(doc: YamlDocument, path: YamlPath, step: Record<string, unknown>, jobCtx: EvalContext, job: string, localRefs: Pattern[]): void {
    // A step's `if:` narrows the refs it runs under (conditions.ts); one no allowed run satisfies skips it.
    const refs = stepCondition(step['if'], jobCtx);
    if (refs === null) return;
    const ctx = childContext(jobCtx, { refs });
    for (const [name, value] of evaluateEnv(step['env'], jobCtx)) ctx.env.set(name, value);
    const id = typeof step['id'] === 'string' ? step['id'] : undefined;
    const inputs = isRecord(step['with']) ? step['with'] : {};
    const stepLine = doc.lineOf(path);
    const uses = typeof step['uses'] === 'string' ? step['uses'].trim() : undefined;
    if (uses !== undefined) {
      const action = uses.replace(/@.*$/, '').toLowerCase();
      if (action === 'docker/metadata-action' || action === 'crazy-max/ghaction-docker-meta') {
        // Kept with a way to recompute under narrower refs (a build-push `push:` condition).
        if (id) jobCtx.steps.set(id, { ...metadataActionOutputs(inputs, ctx), under: (narrowed) => metadataActionOutputs(inputs, { ...ctx, refs: narrowed }) });
        return;
      }
      if (action === 'docker/build-push-action') {
        this.buildPush(doc, path, inputs, ctx, job);
        return;
      }
      if (action === 'goreleaser/goreleaser-action') this.goreleaser(doc.file, stepLine, job, uses);
      else if (!IGNORED_ACTIONS.test(action) && PUBLISHING_ACTION.test(action)) this.unknownPush(doc.file, stepLine, stepLine, job, uses);
      return;
    }
    if (typeof step['run'] !== 'string') return;
    const script = step['run'];
    const runLine = doc.lineOf([...path, 'run']);
    // A block scalar starts on the line after `run: |`.
    const firstLine = /\n/.test(script) ? runLine + 1 : runLine;
    const shell = analyzeScript(script, ctx, localRefs);
    for (const [name, value] of shell.env) jobCtx.env.set(name, value);
    if (id && shell.outputs.size > 0) jobCtx.steps.set(id, { values: shell.outputs } satisfies StepOutputs);
    for (const push of shell.pushes) {
      const line = firstLine + push.line;
      if (!push.reference) {
        if (/^goreleaser\b/.test(push.via)) this.goreleaser(doc.file, line, job, push.via);
        else this.unknownPush(doc.file, line, line, job, push.via);
        continue;
      }
      const { name, tag } = splitReference(push.reference);
      this.addPush({ workflow: doc.file, startLine: line, endLine: line, job, via: push.via, name: lower(name), tags: push.tags ?? [tag] });
    }
  }

  private buildPush(doc: YamlDocument, path: YamlPath, inputs: Record<string, unknown>, stepCtx: EvalContext, job: string): void {
    if (!pushes(inputs)) return;
    // `push: ${{ github.event_name != 'pull_request' }}`: the tags are those of the runs that push.
    const pushRefs = typeof inputs['push'] === 'string' && inputs['push'].includes('${{') ? enabledRefs(inputs['push'], stepCtx) : stepCtx.refs;
    if (pushRefs === null) return;
    const ctx: EvalContext = { ...stepCtx, refs: pushRefs };
    const tagsPath = [...path, 'with', 'tags'];
    const references: Pattern[] = [];
    for (const item of splitList(inputs['tags'])) {
      const wired = /^\$\{\{\s*steps\.([\w-]+)\.outputs\.tags\s*\}\}$/.exec(item)?.[1];
      const outputs = wired ? ctx.steps.get(wired) : undefined;
      // Recomputed under the refs this push runs under (its step's `if:`, its `push:` condition): a superset when the
      // metadata step had its own narrower condition.
      const list = outputs?.under ? outputs.under(pushRefs).tagList : outputs?.tagList;
      if (list) references.push(...list);
      else references.push(evaluateTemplate(item, ctx));
    }
    const start = inputs['tags'] === undefined ? doc.lineOf(path) : doc.lineOf(tagsPath);
    const end = endLine(doc, tagsPath, inputs['tags'], start);
    const byName = new Map<string, { name: Pattern; tags: Pattern[] }>();
    for (const reference of references) {
      const { name, tag } = splitReference(reference);
      const key = JSON.stringify(lower(name));
      const entry = byName.get(key) ?? { name: lower(name), tags: [] };
      entry.tags.push(tag);
      byName.set(key, entry);
    }
    for (const { name, tags } of byName.values()) {
      this.addPush({ workflow: doc.file, startLine: start, endLine: end, job, via: 'docker/build-push-action', name, tags });
    }
  }

  /**
   * GoReleaser pushes the images its config names (`dockers[].image_templates`, `dockers_v2[].images`,
   * `docker_manifests[].name_template`, `kos[].repositories`), with templated tags we do not evaluate.
   * Without a readable config it may push anything.
   */
  private goreleaser(workflow: string, line: number, job: string, via: string): void {
    const file = GORELEASER_FILES.find((name) => this.tree.read(name) !== undefined);
    const config = file ? this.document(file)?.value : undefined;
    if (!isRecord(config)) {
      this.unknownPush(workflow, line, line, job, via);
      return;
    }
    const names: string[] = [];
    const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : typeof value === 'string' ? [value] : []);
    const entries = (key: string): Record<string, unknown>[] => (Array.isArray(config[key]) ? (config[key] as unknown[]).filter(isRecord) : []);
    for (const entry of entries('dockers')) names.push(...strings(entry['image_templates']));
    for (const entry of entries('dockers_v2')) names.push(...strings(entry['images']));
    for (const entry of entries('docker_manifests')) names.push(...strings(entry['name_template']));
    for (const entry of entries('kos')) names.push(...strings(entry['repositories']), ...strings(entry['repository']));
    for (const template of names) {
      const { name } = splitReference(goreleaserTemplate(template));
      this.addPush({ workflow, startLine: line, endLine: line, job, via: `${via} (${file})`, name: lower(name), tags: [anyValue('goreleaser tag')] });
    }
  }

  private unknownPush(workflow: string, startLine: number, endLine: number, job: string, via: string): void {
    this.addPush({ workflow, startLine, endLine, job, via, name: anyValue('image'), tags: [anyValue('tag')] });
  }

  private addPush(push: CiPush): void {
    if (this.options.external && this.options.repository) push.repository = this.options.repository;
    if (this.options.appliesTo) push.appliesTo = this.options.appliesTo;
    this.model.pushes.push(push);
  }
}

/** A step's `if:` (an expression with or without `${{ }}`, or a boolean): the refs it runs under, null when never. */
function stepCondition(condition: unknown, ctx: EvalContext): RefBounds | null {
  if (condition === false) return null;
  if (typeof condition !== 'string') return ctx.refs;
  const text = condition.trim();
  return enabledRefs(text.startsWith('${{') ? text : `\${{ ${text} }}`, ctx);
}

/** build-push-action pushes when `push` is true or an expression, or when an output is a registry or an expression. Default: no push. */
function pushes(inputs: Record<string, unknown>): boolean {
  const push = inputs['push'];
  if (push === true || (typeof push === 'string' && (push.trim() === 'true' || push.includes('${{')))) return true;
  const outputs = listInput(inputs['outputs']).join('\n');
  // `outputs: ${{ steps.x.outputs.value }}` (dex picks type=image,push=true or an OCI tarball): it may push.
  return /type=registry|push=true/.test(outputs) || outputs.includes('${{');
}

/** build-push-action list inputs: newline- or comma-separated, commas inside `${{ }}` kept. */
function splitList(value: unknown): string[] {
  const out: string[] = [];
  for (const line of listInput(value)) {
    let depth = 0;
    let start = 0;
    for (let i = 0; i < line.length; i++) {
      if (line.startsWith('${{', i)) depth++;
      else if (line.startsWith('}}', i) && depth > 0) depth--;
      else if (line[i] === ',' && depth === 0) {
        out.push(line.slice(start, i).trim());
        start = i + 1;
      }
    }
    out.push(line.slice(start).trim());
  }
  return out.filter((item) => item !== '');
}

/** Last line of a value: a list's last item, a block scalar's last line. */
function endLine(doc: YamlDocument, path: YamlPath, value: unknown, start: number): number {
  if (Array.isArray(value) && value.length > 0) return doc.lineOf([...path, value.length - 1]);
  if (typeof value === 'string' && value.includes('\n')) return start + value.replace(/\n+$/, '').split('\n').length;
  return start;
}

/** `ghcr.io/acme/app:{{ .Version }}-amd64` → text with unknown holes for every `{{ }}`. */
function goreleaserTemplate(template: string): Pattern {
  const parts: Pattern[] = [];
  let last = 0;
  for (const m of template.matchAll(/\{\{[\s\S]*?\}\}/g)) {
    parts.push(text(template.slice(last, m.index)));
    parts.push(anyValue(m[0].replace(/^\{\{\s*|\s*\}\}$/g, '')));
    last = (m.index ?? 0) + m[0].length;
  }
  parts.push(text(template.slice(last)));
  return concat(...parts);
}

function lower(pattern: Pattern): Pattern {
  return pattern.map((part) => ('text' in part ? { text: part.text.toLowerCase() } : part));
}

function evaluateEnv(env: unknown, ctx: EvalContext): Map<string, Pattern> {
  const out = new Map<string, Pattern>();
  if (isRecord(env)) {
    const scoped = childContext(ctx, {});
    for (const [name, value] of Object.entries(env)) {
      const pattern = value === null || value === undefined ? text('') : evaluateTemplate(String(value), scoped);
      out.set(name, pattern);
      scoped.env.set(name, pattern);
    }
  } else if (typeof env === 'string') {
    // `env: ${{ fromJson(...) }}`: every variable unknown; lookups of absent names are unknown anyway.
  }
  return out;
}

/**
 * `strategy.matrix`: each key is one of its listed values (objects flattened to `key.field`),
 * `include` adds values; a `${{ fromJson(...) }}` matrix or include leaves keys unknown.
 */
export function matrixOf(strategy: unknown, ctx: EvalContext): Map<string, Pattern> {
  const out = new Map<string, Pattern>();
  const matrix = isRecord(strategy) ? strategy['matrix'] : undefined;
  if (!isRecord(matrix)) return out;
  const values = new Map<string, Pattern[]>();
  const add = (key: string, value: unknown) => {
    if (isRecord(value)) {
      for (const [field, inner] of Object.entries(value)) add(`${key}.${field}`, inner);
      return;
    }
    const list = values.get(key) ?? [];
    list.push(typeof value === 'string' ? evaluateTemplate(value, ctx) : text(String(value)));
    values.set(key, list);
  };
  const unknownKeys = new Set<string>();
  for (const [key, value] of Object.entries(matrix)) {
    if (key === 'exclude') continue;
    if (key === 'include') {
      if (!Array.isArray(value)) return new Map(); // dynamic include: any key may take any value
      for (const entry of value) if (isRecord(entry)) for (const [k, v] of Object.entries(entry)) add(k, v);
      continue;
    }
    if (Array.isArray(value)) for (const item of value) add(key, item);
    else unknownKeys.add(key);
  }
  for (const [key, list] of values) if (!unknownKeys.has(key)) out.set(key, oneOf(list, `matrix.${key}`));
  return out;
}
