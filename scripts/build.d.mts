// Types for scripts/build.mjs (plain JavaScript so that it runs before anything is compiled).
import type { BuildOptions } from 'esbuild';

export declare const ESM_REQUIRE_BANNER: string;
export declare const LAMBDA_EXTERNAL_MODULES: string[];
export declare function lambdaBuildOptions(outfile: string, overrides?: BuildOptions): BuildOptions;
export declare function buildCli(outdir?: string): Promise<void>;
export declare function buildLambda(outfile?: string): Promise<void>;
export declare function buildConstruct(outdir?: string): Promise<void>;
