// Types for scripts/sarif-prefix.mjs.
export declare function prefixSarifUris<T>(sarif: T, dir: string): T;
