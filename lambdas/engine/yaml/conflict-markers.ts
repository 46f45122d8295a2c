/**
 * Unresolved merge conflicts. A file committed with git's conflict markers may still parse (`=======` is a plain
 * scalar, `<<<<<<< HEAD` a key in some places), and then means whichever side the parser happened to keep. It is
 * refused as a whole, with a finding that says what happened, so that the apps reading it become unknown
 * (completeness.ts) rather than silently desiring one side — or nothing.
 */
import type { Finding } from '../model.js';

/** `<<<<<<< ours` / `>>>>>>> theirs` at the start of a line (git writes 7 characters, then a space and a label, or nothing). */
const MARKER = /^(<{7}|>{7})(?:[ \t].*)?\r?$/;

/** A YAML_ERROR at the first conflict marker of `text`, or undefined when it has none. */
export function conflictMarkerFinding(file: string, text: string): Finding | undefined {
  if (!text.includes('<<<<<<<') && !text.includes('>>>>>>>')) return undefined;
  const lines = text.split('\n');
  const found: number[] = [];
  lines.forEach((line, index) => {
    if (MARKER.test(line)) found.push(index + 1);
  });
  const first = found[0];
  if (first === undefined) return undefined;
  const others = found.length > 1 ? ` (markers on lines ${found.slice(0, 6).join(', ')}${found.length > 6 ? ', …' : ''})` : '';
  return {
    file,
    line: first,
    code: 'YAML_ERROR',
    severity: 'error',
    message: `unresolved merge conflict: git conflict markers${others}; the file is not read, and the apps that use it are unknown until the conflict is resolved`,
    hint: 'Resolve the conflict (keep one side, remove the <<<<<<< ======= >>>>>>> lines) and commit.',
  };
}
