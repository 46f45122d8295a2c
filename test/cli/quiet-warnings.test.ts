/**
 * The launcher silences the AWS SDK's notice that its 2027 releases need Node 22 and prints every
 * other warning. The SDK emits the notice as a plain `Warning` whose message starts with
 * `NodeVersionSupportWarning:` (@aws-sdk/core emitWarningIfUnsupportedVersion).
 */
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { silenceNodeVersionSupportWarning } from '../../cli/quiet-warnings.js';

let saved: Array<(...args: unknown[]) => void> = [];
const written: string[] = [];

beforeEach(() => {
  saved = process.listeners('warning') as Array<(...args: unknown[]) => void>;
  written.length = 0;
  vi.spyOn(process.stderr, 'write').mockImplementation(((chunk: unknown) => {
    written.push(String(chunk));
    return true;
  }) as typeof process.stderr.write);
});

afterEach(() => {
  vi.restoreAllMocks();
  process.removeAllListeners('warning');
  for (const listener of saved) process.on('warning', listener);
});

const nextWarning = () => new Promise<void>((resolve) => process.once('warning', () => setImmediate(resolve)));

it('drops the AWS SDK Node version notice as the SDK emits it', async () => {
  silenceNodeVersionSupportWarning();
  const emitted = nextWarning();
  process.emitWarning('NodeVersionSupportWarning: The AWS SDK for JavaScript (v3)\nversions published after the first week of January 2027\nwill require node >=22.');
  await emitted;
  expect(written.join('')).toBe('');
});

it('still prints other warnings', async () => {
  silenceNodeVersionSupportWarning();
  const emitted = nextWarning();
  process.emitWarning('something else', 'DeprecationWarning');
  await emitted;
  expect(written.join('')).toBe('DeprecationWarning: something else\n');
});
