#!/usr/bin/env node
// `npm run build` (and `prepare`, which npm install / npm ci run): compiles src/ to dist/ with
// tsconfig.build.json, then writes dist/.built, the stamp bin/callsnare.js compares with the sources.
// `--if-possible` (prepare): without TypeScript (a production install) or on a failed compile, say
// so and succeed; bin/callsnare.js then runs the sources through tsx.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const ifPossible = process.argv.includes('--if-possible');
const stamp = new URL('../dist/.built', import.meta.url);
const giveUp = (why) => {
  process.stderr.write(`callsnare build: ${why}; the CLI will run the TypeScript sources through tsx (slower start)\n`);
  process.exit(ifPossible ? 0 : 1);
};

rmSync(stamp, { force: true });
let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  giveUp('TypeScript is not installed');
}
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: new URL('..', import.meta.url), stdio: 'inherit' });
if (result.status !== 0) giveUp(`tsc -p tsconfig.build.json failed (${result.status ?? result.signal})`);
mkdirSync(new URL('../dist/', import.meta.url), { recursive: true });
writeFileSync(stamp, `${new Date().toISOString()}\n`);
