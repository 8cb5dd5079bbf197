import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import pg from 'pg';
import { testEnv } from '../../src/config.ts';
import { ensureDatabase } from '../../src/db/embedded.ts';
import { createDb, type Db } from '../../src/db/kysely.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Data directory of the shared embedded server that test runs use. */
export const TEST_DATA_DIR = path.join(root, '.data', 'test');

/** Connection string of a server where tests may create databases (`DATABASE_URL` or the embedded one). */
export async function testServerUrl(): Promise<string> {
  const env = testEnv();
  if (env.databaseUrl) return env.databaseUrl;
  return embeddedServerUrl();
}

async function embeddedServerUrl(): Promise<string> {
  const deadline = Date.now() + 60_000;
  let spawned = false;
  for (;;) {
    const url = await runningEmbeddedUrl();
    if (url) return url;
    if (!spawned) {
      spawned = true;
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'test/support/pg-server.ts'), TEST_DATA_DIR], {
        detached: true,
        stdio: 'ignore',
        cwd: root,
      });
      child.unref();
    }
    if (Date.now() > deadline) throw new Error('the embedded test PostgreSQL did not start within 60 s');
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function runningEmbeddedUrl(): Promise<string | undefined> {
  const pidFile = path.join(TEST_DATA_DIR, 'pg', 'postmaster.pid');
  const authFile = path.join(TEST_DATA_DIR, 'pg-auth.json');
  if (!existsSync(pidFile) || !existsSync(authFile)) return undefined;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  try {
    process.kill(pid, 0);
  } catch {
    return undefined;
  }
  const auth = JSON.parse(readFileSync(authFile, 'utf8')) as { user: string; password: string };
  const url = `postgres://${auth.user}:${encodeURIComponent(auth.password)}@127.0.0.1:${lines[3]}/postgres`;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    return url;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => {});
  }
}

/** A fresh, migrated database for one test file, dropped at teardown. */
export interface TestDatabase {
  readonly url: string;
  readonly db: Db;
  readonly pool: pg.Pool;
  /** Empties every table the migrations created (a per-test reset). */
  reset(): Promise<void>;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** Creates a database named after the test file's process, migrates it, and drops it when `t` ends. */
export async function testDatabase(t: Teardown, options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const serverUrl = await testServerUrl();
  const name = `cs_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await ensureDatabase(serverUrl, name);
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  const { db, pool } = createDb({ url, max: 20, applicationName: 'callsnare-test' });
  // The shared embedded server stops after 15 s without a client; a file waiting on spawned processes
  // (slow to start on a loaded machine) while its pool has closed its idle connections must not look idle.
  const keeper = new pg.Client({ connectionString: url, application_name: 'callsnare-test-keeper' });
  keeper.on('error', () => {});
  await keeper.connect();
  if (options.migrate !== false) await migrateToLatest(db);
  t.teardown(async () => {
    await keeper.end().catch(() => {});
    await db.destroy();
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`drop database if exists ${admin.escapeIdentifier(name)} with (force)`);
    await admin.end();
  });
  return {
    url,
    db,
    pool,
    async reset() {
      const { rows } = await sql<{ tablename: string }>`
        select tablename from pg_tables where schemaname = 'public' and tablename not like 'schema_migrations%'`.execute(db);
      if (rows.length) await sql.raw(`truncate ${rows.map((r) => `"${r.tablename}"`).join(', ')} restart identity cascade`).execute(db);
    },
  };
}
