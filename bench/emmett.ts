// Loads @event-driven-io/emmett-postgresql from its own little package in bench/emmett/.
//
// It is not a devDependency of the root package on purpose: emmett 0.42 declares peer dependencies
// commander@^12 and uuid@^10, which conflict with the service's commander@^14 and uuid@^11, so adding
// it to the root makes `npm ci` fail with ERESOLVE (also with --legacy-peer-deps at install time, since
// `npm ci` re-checks peers). In bench/emmett it gets its own node_modules (and its own copy of `pg`,
// whose global type parsers it changes), installed on first use with `npm ci`.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';

const DIR = fileURLToPath(new URL('./emmett/', import.meta.url));
const PACKAGE = '@event-driven-io/emmett-postgresql';

/** The slice of emmett's API the bench uses (see dist/index.d.ts of emmett-postgresql 0.42). */
export type EmmettExpectedVersion = bigint | 'STREAM_EXISTS' | 'STREAM_DOES_NOT_EXIST' | 'NO_CONCURRENCY_CHECK';

export interface EmmettEvent {
  readonly type: string;
  readonly data: Record<string, unknown>;
  readonly metadata?: Record<string, unknown>;
}

export interface EmmettEventStore {
  appendToStream(
    streamName: string,
    events: EmmettEvent[],
    options?: { expectedStreamVersion?: EmmettExpectedVersion },
  ): Promise<{ nextExpectedStreamVersion: bigint; createdNewStream: boolean; lastEventGlobalPosition: bigint }>;
  schema: { migrate(): Promise<unknown> };
  close(): Promise<void>;
}

interface EmmettModule {
  getPostgreSQLEventStore(connectionString: string, options?: { connectionOptions?: { pool: pg.Pool } }): EmmettEventStore;
}

/** An emmett PostgreSQL event store over its own pool of `poolSize` connections. */
export interface Emmett {
  readonly store: EmmettEventStore;
  readonly version: string;
  close(): Promise<void>;
}

/** Installs bench/emmett's dependencies if they are missing (npm ci from its lockfile). */
export function ensureEmmettInstalled(log: (message: string) => void): void {
  if (existsSync(`${DIR}node_modules/${PACKAGE}/package.json`)) return;
  log(`installing ${PACKAGE} into bench/emmett (npm ci)`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: DIR, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`npm ci in ${DIR} failed (exit ${result.status ?? result.signal})`);
}

export function openEmmett(url: string, poolSize: number): Emmett {
  const require = createRequire(`${DIR}package.json`);
  const emmett = require(PACKAGE) as EmmettModule;
  // emmett's own pg (bench/emmett/node_modules/pg), so its type-parser changes stay out of ours.
  const { Pool } = require('pg') as typeof pg;
  const pool = new Pool({ connectionString: url, max: poolSize, application_name: 'bench-emmett' });
  pool.on('error', () => {});
  const store = emmett.getPostgreSQLEventStore(url, { connectionOptions: { pool } });
  const manifest = JSON.parse(readFileSync(`${DIR}node_modules/${PACKAGE}/package.json`, 'utf8')) as { version: string };
  return {
    store,
    version: manifest.version,
    async close() {
      await store.close();
      await pool.end();
    },
  };
}
