/**
 * Who can pull an image: the `imagePullSecrets` of a pod spec and of ServiceAccount objects. Pure; the
 * resolver joins the two (same namespace, same name) once every render of the repository is known.
 */
import type { PodPullConfig, SourceLocation } from '../../model.js';
import { isRecord } from '../types.js';

/** A ServiceAccount object found in the repository (plain manifest or kustomize output). */
export interface ServiceAccountPullSecrets {
  name: string;
  /** Namespace as rendered; undefined when neither the file nor a kustomization sets one. */
  namespace?: string;
  /** Names listed under `imagePullSecrets`. */
  pullSecrets: string[];
  location: SourceLocation;
}

/** The names under an `imagePullSecrets` list (`[{name: x}]`); malformed entries are skipped. */
export function pullSecretNames(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  const names: string[] = [];
  for (const entry of value) {
    const name = isRecord(entry) ? entry['name'] : undefined;
    if (typeof name === 'string' && name !== '' && !names.includes(name)) names.push(name);
  }
  return names;
}

/** What a pod spec says about pulling: its ServiceAccount (Kubernetes' default is `default`) and its own pull secrets. */
export function podPullConfig(podSpec: unknown): PodPullConfig {
  if (!isRecord(podSpec)) return { serviceAccount: 'default', pullSecrets: [] };
  const named = podSpec['serviceAccountName'] ?? podSpec['serviceAccount'];
  return {
    serviceAccount: typeof named === 'string' && named !== '' ? named : 'default',
    pullSecrets: pullSecretNames(podSpec['imagePullSecrets']),
  };
}

/** The ServiceAccount described by a resource object, or undefined when it is not one. */
export function serviceAccountOf(
  resource: unknown,
  location: SourceLocation,
  defaultNamespace?: string,
): ServiceAccountPullSecrets | undefined {
  if (!isRecord(resource) || resource['kind'] !== 'ServiceAccount') return undefined;
  const metadata = isRecord(resource['metadata']) ? resource['metadata'] : {};
  const name = metadata['name'];
  if (typeof name !== 'string' || name === '') return undefined;
  const namespace = typeof metadata['namespace'] === 'string' && metadata['namespace'] !== '' ? metadata['namespace'] : defaultNamespace;
  return {
    name,
    ...(namespace !== undefined ? { namespace } : {}),
    pullSecrets: pullSecretNames(resource['imagePullSecrets']),
    location,
  };
}
