import type { DesiredState } from '../../lambdas/engine/model.js';
import { resolveDesiredState, type ResolveOptions } from '../../lambdas/engine/resolve/index.js';
import { filesTree, treeSource } from '../support/resolve-tree.js';

export async function resolveFiles(
  files: Record<string, string>,
  options: ResolveOptions = {},
  revisions: Record<string, Record<string, string>> = {},
): Promise<DesiredState & { loads: string[] }> {
  const others = Object.fromEntries(Object.entries(revisions).map(([rev, tree]) => [rev, filesTree(tree)]));
  const source = treeSource(filesTree(files), others);
  const state = await resolveDesiredState(source, options);
  return { ...state, loads: source.loads };
}

/** `app | Kind/ns/name | container | image` rows, for compact assertions. */
export function rows(state: DesiredState): string[] {
  return state.images.map(
    (i) => `${i.app.name} | ${i.workload.kind}/${i.workload.namespace ?? '-'}/${i.workload.name} | ${i.container} | ${i.image}`,
  );
}

export function codes(state: DesiredState): string[] {
  return state.findings.map((f) => `${f.code} ${f.file}:${f.line}`);
}

export const deployment = (name: string, image: string, extra = '') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  template:
    spec:
      containers:
        - name: ${name}
          image: ${image}
${extra}`;

export const application = (name: string, source: string, extra = '') => `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: ${name}
spec:
  source:
${source
  .split('\n')
  .map((line) => `    ${line}`)
  .join('\n')}
  destination:
    namespace: ${name}-ns
${extra}`;

export const kustomization = (body: string) => `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
${body}`;
