/**
 * Pull-request mode: which desired images are new or changed between two revisions.
 * An entry is identified by where it runs (app, workload, container); it counts as changed
 * when that slot did not exist before or now asks for a different image.
 */
import type { DesiredImage, DesiredState } from './model.js';

export function slotKey(entry: DesiredImage): string {
  const { kind, namespace, name } = entry.workload;
  return [entry.app.name, kind, namespace ?? '', name, entry.container].join('\u0000');
}

export function selectChangedImages(baseline: DesiredState, head: DesiredState): DesiredImage[] {
  const before = new Map<string, Set<string>>();
  for (const entry of baseline.images) {
    const key = slotKey(entry);
    const images = before.get(key) ?? new Set<string>();
    images.add(entry.image);
    before.set(key, images);
  }
  return head.images.filter((entry) => !before.get(slotKey(entry))?.has(entry.image));
}
