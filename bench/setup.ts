// The bench database: recreated empty at every run so runs are comparable, then migrated.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Config } from '../src/config.ts';
import { ensureDatabase, ensureEmbeddedPostgres } from '../src/db/embedded.ts';
import { createDb } from '../src/db/kysely.ts';
import { migrateToLatest } from '../src/db/migrate.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const DATABASE = 'callsnare_bench';

/** Where the benchmarks run. */
export interface BenchDatabase {
  readonly url: string;
  /** `embedded` (./.data/bench) or `DATABASE_URL` (that server; database `callsnare_bench` beside its own). */
  readonly source: 'embedded' | 'DATABASE_URL';
  readonly database: string;
  readonly serverVersion: string;
  /** Server settings that move the figures. */
  readonly settings: Record<string, string>;
  close(): Promise<void>;
}

/**
 * With DATABASE_URL: drops and recreates `callsnare_bench` on that server (falls back to DATABASE_URL's
 * own database, untouched, if the role may not create databases). Without: the embedded server in
 * `<repo>/.data/bench`, same database dropped and recreated. Either way migrated to the latest schema.
 */
export async function openBenchDatabase(config: Config, log: (message: string) => void, name = DATABASE): Promise<BenchDatabase> {
  let url: string;
  let source: BenchDatabase['source'];
  let database = name;
  let stop: () => Promise<void> = async () => {};
  if (config.DATABASE_URL) {
    source = 'DATABASE_URL';
    const admin = new URL(config.DATABASE_URL);
    admin.pathname = '/postgres';
    const bench = new URL(config.DATABASE_URL);
    bench.pathname = `/${name}`;
    try {
      await recreate(admin.toString(), name);
      url = bench.toString();
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== '42501' && code !== '3D000') throw error;
      database = decodeURIComponent(new URL(config.DATABASE_URL).pathname.slice(1));
      log(`cannot create ${name} on the DATABASE_URL server (${(error as Error).message}); using database ${database} as it is`);
      url = config.DATABASE_URL;
    }
  } else {
    source = 'embedded';
    const server = await ensureEmbeddedPostgres({ dataDir: path.join(REPO, '.data', 'bench'), database: name, log });
    await recreate(server.adminUrl, name);
    url = server.url;
    stop = () => server.stop();
  }

  const { db } = createDb({ url, max: 2, applicationName: 'callsnare-bench-setup' });
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }

  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const settings: Record<string, string> = {};
  let serverVersion = '';
  try {
    serverVersion = (await client.query<{ server_version: string }>('show server_version')).rows[0]!.server_version;
    const { rows } = await client.query<{ name: string; setting: string; unit: string | null }>(
      `select name, setting, unit from pg_settings
        where name in ('fsync', 'synchronous_commit', 'shared_buffers', 'max_connections', 'wal_level', 'work_mem')`,
    );
    for (const row of rows) settings[row.name] = row.unit ? `${row.setting} ${row.unit}` : row.setting;
  } finally {
    await client.end();
  }
  return { url, source, database, serverVersion, settings, close: stop };
}

async function recreate(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`drop database if exists ${client.escapeIdentifier(database)} with (force)`);
  } finally {
    await client.end();
  }
  await ensureDatabase(adminUrl, database);
}

/** A database of its own beside the bench database, on the same server (see {@link openScratchDatabase}). */
export interface ScratchDatabase {
  readonly url: string;
  readonly database: string;
  /** Drops the database (every connection to it must be closed first). */
  drop(): Promise<void>;
}

/**
 * Drops and recreates database `<bench database>_<suffix>` on the bench database's server and migrates it to the latest
 * schema (with `jobQueue`, graphile-worker's schema too, as `openServices` does). For benchmarks that
 * need a fresh database of their own (exact event counts, a process manager starting at position 0).
 * Needs a role that may create databases (the embedded server's always may).
 */
export async function openScratchDatabase(
  benchUrl: string,
  suffix: string,
  options: { jobQueue?: boolean } = {},
): Promise<ScratchDatabase> {
  // Named after the bench database, so two benches on one server (--database=) keep apart.
  const name = `${decodeURIComponent(new URL(benchUrl).pathname.slice(1))}_${suffix}`;
  const admin = new URL(benchUrl);
  admin.pathname = '/postgres';
  const scratch = new URL(benchUrl);
  scratch.pathname = `/${name}`;
  try {
    await recreate(admin.toString(), name);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === '42501' || code === '3D000') {
      throw new Error(
        `cannot create database ${name} beside the bench database (${(error as Error).message}); this benchmark needs a role that may create databases`,
      );
    }
    throw error;
  }
  const url = scratch.toString();
  const { db, pool } = createDb({ url, max: 2, applicationName: 'callsnare-bench-setup' });
  try {
    await migrateToLatest(db, options.jobQueue ? { pool } : {});
  } finally {
    await db.destroy();
  }
  return {
    url,
    database: name,
    async drop() {
      const client = new pg.Client({ connectionString: admin.toString() });
      await client.connect();
      try {
        await client.query(`drop database if exists ${client.escapeIdentifier(name)} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}
