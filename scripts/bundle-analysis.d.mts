// Types for scripts/bundle-analysis.mjs (plain JavaScript, next to scripts/build.mjs).
import type { Metafile } from 'esbuild';

export declare function bytesByPackage(metafile: Metafile, options?: { byFile?: boolean }): Array<[string, number]>;
