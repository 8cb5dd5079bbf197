import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The browser code's sources (React + TanStack Query, TSX). */
export const WEB_SOURCE_DIR = path.join(root, 'web');
/** Built bundles, one folder per source hash (git-ignored). */
export const WEB_BUILD_DIR = path.join(root, 'dist', 'web');

/** A finished build: its folder and the file names the HTML page links. */
export interface WebBuild {
  readonly sourceHash: string;
  readonly dir: string;
  readonly script: string;
  readonly stylesheet: string;
  /** Every file of the build, by name, with its content type. */
  readonly files: ReadonlyMap<string, string>;
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(full)));
    else out.push(full);
  }
  return out.sort();
}

/**
 * Hash of everything a build depends on: the web sources, the lock file, this builder (its TypeScript
 * source, so the compiled CLI in dist/ and the sources run through tsx share one build).
 */
export async function webSourceHash(): Promise<string> {
  const hash = createHash('sha256');
  const inputs = [...(await listFiles(WEB_SOURCE_DIR)), path.join(root, 'package-lock.json'), path.join(root, 'src', 'web', 'assets.ts')];
  for (const file of inputs) {
    hash
      .update(path.relative(root, file))
      .update('\0')
      .update(await readFile(file))
      .update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

async function readBuild(sourceHash: string): Promise<WebBuild | undefined> {
  const dir = path.join(WEB_BUILD_DIR, sourceHash);
  const manifestFile = path.join(dir, 'manifest.json');
  if (!existsSync(manifestFile)) return undefined;
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as { script: string; stylesheet: string; files: string[] };
  return {
    sourceHash,
    dir,
    script: manifest.script,
    stylesheet: manifest.stylesheet,
    files: new Map(manifest.files.map((f) => [f, TYPES[path.extname(f)] ?? 'application/octet-stream'])),
  };
}

/**
 * Returns the build of the current sources, building it first when it is missing or stale. Several
 * processes may call this at once: each builds into a private folder and renames it into place, and a
 * loser of that race uses the winner's identical build.
 */
export async function ensureWebBuild(): Promise<WebBuild> {
  const sourceHash = await webSourceHash();
  const existing = await readBuild(sourceHash);
  if (existing) return existing;
  const tmp = path.join(WEB_BUILD_DIR, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp, { recursive: true });
  try {
    // Loaded only when a build is needed: a start with the current build on disk never loads esbuild.
    const { build } = await import('esbuild');
    const result = await build({
      entryPoints: [path.join(WEB_SOURCE_DIR, 'main.tsx')],
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
    if (!script || !stylesheet) throw new Error('the web build produced no script or stylesheet');
    await writeFile(path.join(tmp, 'manifest.json'), JSON.stringify({ sourceHash, script, stylesheet, files }));
    try {
      await rename(tmp, path.join(WEB_BUILD_DIR, sourceHash));
    } catch (error) {
      if (!existsSync(path.join(WEB_BUILD_DIR, sourceHash, 'manifest.json'))) throw error;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  const built = await readBuild(sourceHash);
  if (!built) throw new Error('the web build vanished');
  await pruneWebBuilds(WEB_BUILD_DIR, sourceHash);
  return built;
}

/** What {@link pruneWebBuilds} keeps besides the current build. */
export interface PruneOptions {
  /** Older builds kept, newest first: a process of the previous version may still be serving one. */
  readonly keepPrevious?: number;
  /** A private `.tmp-*` folder older than this was left by a build that crashed. */
  readonly abandonedAfterMs?: number;
  readonly now?: number;
}

/**
 * Removes old builds from `dir`: every build folder but `current` and the `keepPrevious` newest others, and
 * build folders abandoned by crashed builds. Another process racing to remove the same folder is harmless.
 */
export async function pruneWebBuilds(dir: string, current: string, options: PruneOptions = {}): Promise<string[]> {
  const { keepPrevious = 2, abandonedAfterMs = 3_600_000, now = Date.now() } = options;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const builds: { name: string; mtimeMs: number }[] = [];
  const removed: string[] = [];
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
