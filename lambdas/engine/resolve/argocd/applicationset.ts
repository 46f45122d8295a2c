/**
 * Expands an ApplicationSet into the Applications it generates: runs its generators, merges a
 * generator-level template over `spec.template`, renders the template with each parameter set and
 * names each Application after templating. Generated Applications point their line numbers back at
 * the ApplicationSet's template, since that is where a fix goes.
 */
import { parse } from 'yaml';
import type { Locate, YamlPath } from '../context.js';
import { deepMerge, emitGeneratorCap, MAX_GENERATED_APPS_PER_APPLICATIONSET, renderer, runGenerator, type GeneratorContext, type ParamSet } from './generators.js';
import { hasTemplate, isRecord, renderValue } from './template.js';

export interface GeneratedApplication {
  name: string;
  /** The Application as Argo CD would create it. */
  value: Record<string, unknown>;
  /** Maps a path of the generated Application to a line of the ApplicationSet. */
  locate: Locate;
}

export type ApplicationSetContext = Omit<GeneratorContext, 'goTemplate'>;

export async function expandApplicationSet(
  value: unknown,
  ctx: ApplicationSetContext,
): Promise<GeneratedApplication[]> {
  const spec = isRecord(value) && isRecord(value.spec) ? value.spec : undefined;
  if (!spec || !isRecord(spec.template) || !Array.isArray(spec.generators)) {
    ctx.emit('INVALID_RESOURCE', ['spec'], 'error', 'ApplicationSet needs spec.generators and spec.template');
    return [];
  }
  const goTemplate = spec.goTemplate === true;
  const templatePatch = typeof spec.templatePatch === 'string' ? spec.templatePatch : undefined;
  let patchFailed = false;
  const generatorCtx: GeneratorContext = { ...ctx, goTemplate };
  const locate: Locate = (path) => ctx.locate(templatePath(path));
  const apps: GeneratedApplication[] = [];
  const names = new Set<string>();
  const all: ParamSet[] = [];
  for (let index = 0; index < spec.generators.length; index++) {
    const sets = await runGenerator(spec.generators[index], ['spec', 'generators', index], generatorCtx);
    all.push(...(sets ?? []));
    // Each generator is capped; so is their sum (ten list generators of 1,000 elements are 10,000 Applications).
    if (all.length > (ctx.maxParamSets ?? MAX_GENERATED_APPS_PER_APPLICATIONSET)) {
      emitGeneratorCap(ctx, ['spec', 'generators'], 'the ApplicationSet\'s generators together');
      return [];
    }
  }
  for (const set of all) {
    const template = set.template ? deepMerge(spec.template, set.template) : spec.template;
    const base = renderValue(template, renderer(set.params, goTemplate));
    if (!isRecord(base)) continue;
    let rendered: Record<string, unknown> = base;
    if (templatePatch !== undefined) {
      const patch = renderTemplatePatch(templatePatch, set.params, goTemplate);
      if (patch) rendered = deepMerge(rendered, patch);
      else patchFailed = true;
    }
    const metadata = isRecord(rendered.metadata) ? rendered.metadata : {};
    const name = typeof metadata.name === 'string' ? metadata.name : '';
    if (name === '') {
      ctx.emit('INVALID_RESOURCE', ['spec', 'template', 'metadata', 'name'], 'error', 'generated Application has no name');
      continue;
    }
    if (hasTemplate(name)) {
      ctx.emit('UNRESOLVED_TEMPLATE', ['spec', 'template', 'metadata', 'name'], 'warning', `generated Application name "${name}" still holds a template: a parameter is missing; Argo CD would not create it`);
      continue;
    }
    // Argo CD refuses duplicate names in one ApplicationSet; keep the first.
    if (names.has(name)) continue;
    names.add(name);
    apps.push({
      name,
      value: { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata, spec: rendered.spec },
      locate,
    });
  }
  if (patchFailed) {
    ctx.emit(
      'UNSUPPORTED_GENERATOR',
      ['spec', 'templatePatch'],
      'info',
      'templatePatch uses template actions this auditor does not evaluate (if/range/...); some Applications are built from spec.template alone',
    );
  }
  return apps;
}

/** `spec.templatePatch` rendered with one parameter set, as a mapping; undefined when it cannot be evaluated. */
function renderTemplatePatch(text: string, params: Record<string, unknown>, goTemplate: boolean): Record<string, unknown> | undefined {
  const rendered = renderer(params, goTemplate)(text);
  if (hasTemplate(rendered)) return undefined;
  try {
    const value: unknown = parse(rendered);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function templatePath(path: YamlPath): YamlPath {
  const [head, ...rest] = path;
  if (head === 'spec' || head === 'metadata') return ['spec', 'template', head, ...rest];
  return ['spec', 'template'];
}
