#!/usr/bin/env node
// Launcher for the TypeScript CLI: registers tsx's loader, then runs bin/image-drift.ts.
// Keeping the CLI in TypeScript (no build step) means `npm ci` is the whole install.
import { register } from 'tsx/esm/api';

register();
await import('./image-drift.ts');
