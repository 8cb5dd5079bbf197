import { type ChildProcess } from 'node:child_process';
import { spawnOwned } from './processes.ts';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { storeEnv } from './store.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The CLI entry point a user runs (`npx callsnare`). */
export const CLI_BIN = path.join(root, 'bin/callsnare.js');
export const REPO_ROOT = root;

/**
 * Spawns `callsnare serve` (or `args`) on a free port with exactly `env` (plus, when EVENT_STORE=esdb
 * selects EventStoreDB for the tests, `EVENT_STORE` and `EVENTSTORE_CONNECTION_STRING`), and resolves with the process
 * and the address it printed once it listens.
 */
export function startServe(
  env: Record<string, string | undefined>,
  args: string[] = ['serve'],
): Promise<{ child: ChildProcess; address: string }> {
  const child = spawnOwned(process.execPath, [CLI_BIN, ...args], {
    env: { ...storeEnv(), ...env, PORT: '0', LOG_LEVEL: 'info' },
    cwd: root,
  });
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const match = /CallSnare listening on (http:\/\/[^"]+)"/.exec(buffer);
      if (match) resolve({ child, address: match[1]! });
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}`)));
  });
}
