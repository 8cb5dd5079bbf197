// The browser the browser tests drive: the Chromium that `npm ci` brings inside @sparticuz/chromium (no system
// browser needed), unpacked once per version into node_modules/.cache; CHROMIUM_PATH points at another one.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The Chromium executable for the browser tests. The package unpacks into `os.tmpdir()` with no lock, so it is
 * unpacked by a child process into a private folder that is then renamed into place: two test files (or two
 * checkouts) starting at once never launch a half-written binary.
 */
export function chromiumExecutable(): string {
  const chosen = process.env.CHROMIUM_PATH;
  if (chosen) return chosen;
  const packageJson = path.join(REPO_ROOT, 'node_modules/@sparticuz/chromium/package.json');
  const { version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string };
  const cacheRoot = path.join(REPO_ROOT, 'node_modules/.cache');
  const folder = path.join(cacheRoot, `chromium-${version}`);
  const executable = path.join(folder, 'chromium');
  if (existsSync(executable)) return executable;

  mkdirSync(cacheRoot, { recursive: true });
  const unpacking = mkdtempSync(path.join(cacheRoot, `chromium-${version}-unpacking-`));
  const unpacked = spawnSync(
    process.execPath,
    ['-e', "import('@sparticuz/chromium').then((m) => m.default.executablePath()).then((p) => console.log(p))"],
    { cwd: REPO_ROOT, env: { ...process.env, TMPDIR: unpacking }, encoding: 'utf8' },
  );
  if (unpacked.status !== 0) {
    rmSync(unpacking, { recursive: true, force: true });
    throw new Error(`could not unpack @sparticuz/chromium: ${unpacked.stderr.trim()}`);
  }
  try {
    renameSync(unpacking, folder);
  } catch (error) {
    // Another process renamed its copy first: use that one.
    rmSync(unpacking, { recursive: true, force: true });
    if (!existsSync(executable)) throw error;
  }
  return executable;
}
