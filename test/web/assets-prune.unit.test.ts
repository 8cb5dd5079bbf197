// Old web builds do not pile up in dist/client: after a new build, the current one and the two newest others stay
// (a process of the previous version may still serve one), and folders of crashed builds go after an hour.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { pruneClientBuilds } from '../../bin/build-client.js';

function folderWith(dir: string, name: string, ageMs: number, now: number): void {
  mkdirSync(path.join(dir, name));
  writeFileSync(path.join(dir, name, 'manifest.json'), '{}');
  const when = new Date(now - ageMs);
  utimesSync(path.join(dir, name), when, when);
}

t.test('keeps the current build and the two newest others, removes older ones and abandoned temporary folders', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'callsnare-web-builds-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const now = Date.now();
  folderWith(dir, 'current', 10 * 86_400_000, now); // the current build may be the oldest folder: it stays
  for (const [name, days] of [
    ['a', 1],
    ['b', 2],
    ['c', 3],
    ['d', 4],
  ] as const)
    folderWith(dir, name, days * 86_400_000, now);
  folderWith(dir, '.tmp-123-crashed', 2 * 3_600_000, now);
  folderWith(dir, '.tmp-456-building', 60_000, now);
  writeFileSync(path.join(dir, 'stray-file'), 'x');

  const removed = await pruneClientBuilds(dir, 'current', { now });
  t.same(removed, ['.tmp-123-crashed', 'c', 'd']);
  t.same(readdirSync(dir).sort(), ['.tmp-456-building', 'a', 'b', 'current', 'stray-file']);
  t.same(await pruneClientBuilds(dir, 'current', { now }), [], 'a second prune finds nothing more');
});

t.test('a missing build folder is nothing to prune', async (t) => {
  t.same(await pruneClientBuilds(path.join(os.tmpdir(), `callsnare-none-${process.pid}`), 'x'), []);
});
