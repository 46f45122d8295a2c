import packageJson from '../package.json' with { type: 'json' };

/** The version in package.json, shown by --version and written into SARIF logs (inlined by the build). */
export const TOOL_VERSION: string = packageJson.version;
