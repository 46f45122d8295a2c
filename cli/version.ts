import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const packageJson = require('../package.json') as { version: string };

/** The version in package.json, shown by --version and written into SARIF logs. */
export const TOOL_VERSION: string = packageJson.version;
