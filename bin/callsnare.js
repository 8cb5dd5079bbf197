#!/usr/bin/env node
// Runs the compiled JavaScript in dist/ when it was built after the last change to the sources
// (`npm run build`; `npm install` and `npm ci` run it as `prepare`), else the TypeScript sources
// through tsx, so a checkout with no build, or sources edited since, still runs as it is.
import { distIsCurrent } from './dist-current.js';

let main;
if (distIsCurrent(new URL('..', import.meta.url))) {
  ({ main } = await import('../dist/cli/main.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
await main(process.argv);
