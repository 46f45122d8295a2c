/**
 * Vitest global setup: compiles the CLI once before the tests (scripts/build.mjs, about a second), so that
 * tests which start `image-drift` as a process run the current sources through the built JavaScript.
 */
import { buildCli } from '../../scripts/build.mjs';

export default async function setup(): Promise<void> {
  await buildCli();
}
