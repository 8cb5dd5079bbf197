// The team web app's browser bundle (client/: React + TanStack Query, TSX), built with esbuild into
// dist/client/<source hash>/. `npm ci` / `npm install` build it once through bin/build.js (`prepare`), next
// to the CLI; the server only reads that build, and builds it at start-up itself only when the sources
// changed since (a developer's checkout), never at a request.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The repository: above this file, which runs from bin/ or bundled into dist/cli/ (the CLI's build).
const root = (() => {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'client', 'main.tsx')) && existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error('the client sources (client/main.tsx) are not above bin/build-client.js');
  }
})();
export const CLIENT_SOURCE_DIR = path.join(root, 'client');
export const CLIENT_BUILD_DIR = path.join(root, 'dist', 'client');
const TYPES = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };
const ICON_TYPES = { '.png': 'image/png', '.svg': 'image/svg+xml' };
/** The service worker (client/service-worker.ts), built next to the bundle as `sw.js`: served at /app/sw.js. */
const SERVICE_WORKER = 'sw.js';

async function listFiles(dir) {
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(full)));
    else out.push(full);
  }
  return out.sort();
}

/** Hash of everything a build depends on: the client sources, the lock file and this builder. */
export async function clientSourceHash() {
  const hash = createHash('sha256');
  const inputs = [...(await listFiles(CLIENT_SOURCE_DIR)), path.join(root, 'package-lock.json'), path.join(root, 'bin', 'build-client.js')];
  for (const file of inputs) {
    hash
      .update(path.relative(root, file))
      .update('\0')
      .update(await readFile(file))
      .update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/** The finished build for `sourceHash`, or undefined when there is none. */
export async function readClientBuild(sourceHash) {
  const dir = path.join(CLIENT_BUILD_DIR, sourceHash);
  const manifestFile = path.join(dir, 'manifest.json');
  if (!existsSync(manifestFile)) return undefined;
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
  return {
    sourceHash,
    dir,
    script: manifest.script,
    stylesheet: manifest.stylesheet,
    files: new Map(manifest.files.map((f) => [f, TYPES[path.extname(f)] ?? 'application/octet-stream'])),
    serviceWorker: manifest.serviceWorker,
    icons: new Map((manifest.icons ?? []).map((f) => [f, ICON_TYPES[path.extname(f)] ?? 'application/octet-stream'])),
  };
}

/**
 * Returns the build of the current sources, building it first when it is missing. Several processes may
 * call this at once: each builds into a private folder and renames it into place, and a loser of that race
 * uses the winner's identical build.
 */
export async function buildClient() {
  const sourceHash = await clientSourceHash();
  const existing = await readClientBuild(sourceHash);
  if (existing) return { build: existing, built: false };
  const tmp = path.join(CLIENT_BUILD_DIR, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp, { recursive: true });
  try {
    const { build } = await import('esbuild');
    const result = await build({
      entryPoints: [path.join(CLIENT_SOURCE_DIR, 'main.tsx')],
      bundle: true,
      format: 'esm',
      target: 'es2022',
      minify: true,
      jsx: 'automatic',
      define: { 'process.env.NODE_ENV': '"production"' },
      outdir: tmp,
      entryNames: '[name]-[hash]',
      metafile: true,
      logLevel: 'silent',
      absWorkingDir: root,
    });
    const files = Object.keys(result.metafile.outputs).map((f) => path.basename(f));
    const script = files.find((f) => f.endsWith('.js'));
    const stylesheet = files.find((f) => f.endsWith('.css'));
    if (!script || !stylesheet) throw new Error('the client build produced no script or stylesheet');
    // The home-screen icons (client/icons) and the service worker, which caches this build's shell under
    // this build's hash: a new build is a new worker, which replaces the old cache.
    const icons = (await readdir(path.join(CLIENT_SOURCE_DIR, 'icons'))).filter((f) => ICON_TYPES[path.extname(f)]).sort();
    for (const icon of icons) await copyFile(path.join(CLIENT_SOURCE_DIR, 'icons', icon), path.join(tmp, icon));
    await build({
      entryPoints: [path.join(CLIENT_SOURCE_DIR, 'service-worker.ts')],
      bundle: true,
      format: 'iife',
      target: 'es2022',
      minify: true,
      define: { SHELL_BUILD: JSON.stringify({ version: sourceHash, assets: files, icons }) },
      outfile: path.join(tmp, SERVICE_WORKER),
      logLevel: 'silent',
      absWorkingDir: root,
    });
    await writeFile(
      path.join(tmp, 'manifest.json'),
      JSON.stringify({ sourceHash, script, stylesheet, files, serviceWorker: SERVICE_WORKER, icons }),
    );
    try {
      await rename(tmp, path.join(CLIENT_BUILD_DIR, sourceHash));
    } catch (error) {
      if (!existsSync(path.join(CLIENT_BUILD_DIR, sourceHash, 'manifest.json'))) throw error;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  const built = await readClientBuild(sourceHash);
  if (!built) throw new Error('the client build vanished');
  await pruneClientBuilds(CLIENT_BUILD_DIR, sourceHash);
  return { build: built, built: true };
}

/**
 * Removes old builds from `dir`: every build folder but `current` and the `keepPrevious` newest others
 * (a process of the previous version may still be serving one), and `.tmp-*` folders older than
 * `abandonedAfterMs` (left by a build that crashed). Another process racing to remove the same folder is harmless.
 */
export async function pruneClientBuilds(dir, current, options = {}) {
  const { keepPrevious = 2, abandonedAfterMs = 3_600_000, now = Date.now() } = options;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const builds = [];
  const removed = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name === current) continue;
    const mtimeMs = (await stat(path.join(dir, entry.name)).catch(() => undefined))?.mtimeMs;
    if (mtimeMs === undefined) continue;
    if (entry.name.startsWith('.tmp-')) {
      if (now - mtimeMs > abandonedAfterMs) removed.push(entry.name);
    } else builds.push({ name: entry.name, mtimeMs });
  }
  builds.sort((a, b) => b.mtimeMs - a.mtimeMs);
  removed.push(...builds.slice(keepPrevious).map((b) => b.name));
  for (const name of removed) await rm(path.join(dir, name), { recursive: true, force: true });
  return removed.sort();
}
