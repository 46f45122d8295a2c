/**
 * In-memory and fixture-directory FileTrees for tests. The implementation lives in resolve-tree.ts;
 * these are the names the kustomize tests (and others) use.
 */
export { filesTree as memoryTree, directoryFileTree as directoryTree } from './resolve-tree.js';
