#!/usr/bin/env node
// Runs the compiled JavaScript in dist/ when it was built after the last change to the sources
// (`npm run build`; `npm install` and `npm ci` run it as `prepare`), else the TypeScript sources
// through tsx, so a checkout with no build, or sources edited since, still runs as it is.
import { readdirSync, statSync } from 'node:fs';

const root = new URL('..', import.meta.url);

/** Newest modification time of the files under `dir` (a URL ending in `/`). */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const url = new URL(entry.isDirectory() ? `${entry.name}/` : entry.name, dir);
    latest = Math.max(latest, entry.isDirectory() ? newest(url) : statSync(url).mtimeMs);
  }
  return latest;
}

function builtAndCurrent() {
  try {
    // bin/build.js writes the stamp only after a successful compile.
    const built = statSync(new URL('dist/.built', root)).mtimeMs;
    const inputs = ['tsconfig.json', 'tsconfig.build.json', 'package-lock.json'].map((f) => statSync(new URL(f, root)).mtimeMs);
    return Math.max(newest(new URL('src/', root)), ...inputs) <= built;
  } catch {
    return false;
  }
}

let main;
if (builtAndCurrent()) {
  ({ main } = await import('../dist/cli/main.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
await main(process.argv);
