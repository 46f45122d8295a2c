/** Hostile GitOps inputs shared by the bounded-resolution tests and bench/worst-case.ts. */

/** A list generator of `count` elements `{key: key<i>}`, as YAML lines indented by `indent`. */
export function listGeneratorYaml(key: string, count: number, indent: string): string {
  return `${indent}- list:\n${indent}    elements:\n${Array.from({ length: count }, (_, i) => `${indent}      - ${key}: ${key}${i}`).join('\n')}\n`;
}

/** An ApplicationSet with the given generator YAML (under `spec.generators`) and template. */
export function applicationSetYaml(name: string, generators: string, template: { name: string; repoURL: string; path: string }): string {
  return `apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: ${name}
spec:
  generators:
${generators}  template:
    metadata:
      name: '${template.name}'
    spec:
      source:
        repoURL: ${template.repoURL}
        path: ${template.path}
      destination: {}
`;
}

/** The 10 KB ApplicationSet: matrix(list 100, matrix(list 100, list 100)), a million Applications uncapped. */
export function matrixBombYaml(repoURL = 'https://github.com/acme/gitops', path = 'apps/{{a}}'): string {
  const generators = `    - matrix:
        generators:
${listGeneratorYaml('a', 100, '          ')}          - matrix:
              generators:
${listGeneratorYaml('b', 100, '                ')}${listGeneratorYaml('c', 100, '                ')}`;
  return applicationSetYaml('bomb', generators, { name: '{{a}}-{{b}}-{{c}}', repoURL, path });
}
