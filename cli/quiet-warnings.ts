/**
 * The AWS SDK warns on every start that its 2027 releases will need Node 22. The lockfile pins
 * the SDK, so the warning says nothing to a CLI user; every other warning is still printed.
 */
export function silenceNodeVersionSupportWarning(): void {
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    // The SDK calls emitWarning('NodeVersionSupportWarning: …'): the name is the default 'Warning'.
    if (warning.name === 'NodeVersionSupportWarning' || warning.message.startsWith('NodeVersionSupportWarning:')) return;
    process.stderr.write(`${warning.name}: ${warning.message}\n`);
  });
}
