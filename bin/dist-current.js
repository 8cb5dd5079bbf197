// Whether dist/ holds a build of the current sources: bin/build.js wrote its stamp (dist/.built)
// after every file under src/, the TypeScript settings, the lock file and the builder itself last changed.
import { readdirSync, statSync } from 'node:fs';

/** Newest modification time of the files under `dir` (a URL ending in `/`). */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const url = new URL(entry.isDirectory() ? `${entry.name}/` : entry.name, dir);
    latest = Math.max(latest, entry.isDirectory() ? newest(url) : statSync(url).mtimeMs);
  }
  return latest;
}

/** `root`: the repository, a URL ending in `/`. */
export function distIsCurrent(root) {
  try {
    const built = statSync(new URL('dist/.built', root)).mtimeMs;
    const inputs = ['tsconfig.json', 'package-lock.json', 'bin/build.js'].map((f) => statSync(new URL(f, root)).mtimeMs);
    return Math.max(newest(new URL('src/', root)), ...inputs) <= built;
  } catch {
    return false;
  }
}
