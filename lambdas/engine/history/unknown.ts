/**
 * Completeness for history: an image the run did not find desired closes as "no longer desired" only when that is
 * known. While part of the desired state is unknown (a file that cannot be parsed, a missing path, a failed build,
 * an unreadable revision: see completeness.ts), an image is held as it is — neither closed nor announced — when
 * any of its last-known apps is unknown or did not resolve in full this run (it may be declared in the unreadable
 * part), or any of its last-known locations is in a file that could not be read. When unsure, hold. An image
 * desired only by unknown apps continues a tracked state but opens none. Pure: no I/O.
 */
import type { UnknownScope } from '../model.js';
import type { ImageState } from './types.js';

/** Decides, per state, whether the run's unknown scope holds it. */
export function unknownHolds(unknown: UnknownScope | undefined): (state: Pick<ImageState, 'apps' | 'locations'>) => boolean {
  if (!unknown) return () => false;
  if (unknown.whole) return () => true;
  const apps = new Set(unknown.apps.map((app) => app.name));
  const resolved = new Set(unknown.resolvedApps);
  const files = new Set(unknown.files.map((entry) => entry.file));
  const repoFiles = new Set(unknown.files.map((entry) => `${entry.repo ?? ''}\n${entry.file}`));
  // A location recorded without its repository (or a scope without one) matches on the path alone: hold rather than close.
  const unreadable = (location: ImageState['locations'][number]): boolean =>
    location.repo === undefined || unknown.files.some((entry) => entry.repo === undefined) ? files.has(location.file) : repoFiles.has(`${location.repo}\n${location.file}`);
  return (state) =>
    state.apps.length === 0 ||
    state.apps.some((app) => apps.has(app) || !resolved.has(app)) ||
    state.locations.some(unreadable);
}

/** The results every app of which is unknown this run. */
export function unknownOnly<T extends { apps: readonly string[] }>(results: ReadonlyMap<string, T>, unknown: UnknownScope | undefined): [string, T][] {
  if (!unknown) return [];
  const apps = new Set(unknown.apps.map((app) => app.name));
  return [...results].filter(([, result]) => result.apps.length > 0 && result.apps.every((app) => apps.has(app)));
}
