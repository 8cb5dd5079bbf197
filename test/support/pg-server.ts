// A detached embedded PostgreSQL for test runs: started on demand by the first test file that needs it,
// shared by all the others, and stopped once no test database is left and no client has been connected for a while.
import pg from 'pg';
import { ensureEmbeddedPostgres } from '../../src/db/embedded.ts';

const dataDir = process.argv[2]!;
const IDLE_MS = 15_000;
/**
 * A test file's database (`cs_test_*`) exists from its first query to its teardown, also while it holds no
 * connection (its pool closes idle ones after 10 s, e.g. while it waits for a spawned process to start on
 * a loaded machine): the server waits for those to be dropped, or for this long without any client.
 */
const ABANDONED_MS = 600_000;

const server = await ensureEmbeddedPostgres({ dataDir, fast: true, database: 'postgres' });
if (!server.owned) process.exit(0);

let idleSince = Date.now();
let failingSince: number | undefined;
// One probe at a time: on a loaded machine a probe can take seconds, and overlapping ones only add load.
const probe = async (): Promise<void> => {
  const client = new pg.Client({ connectionString: server.adminUrl, connectionTimeoutMillis: 10_000 });
  client.on('error', () => {});
  let idle = false;
  try {
    await client.connect();
    const { rows } = await client.query<{ clients: string; databases: string }>(
      `select (select count(*) from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()) as clients,
              (select count(*) from pg_database where datname like 'cs\\_test\\_%') as databases`,
    );
    failingSince = undefined;
    if (Number(rows[0]!.clients) > 0) idleSince = Date.now();
    const quiet = Date.now() - idleSince;
    idle = (Number(rows[0]!.databases) === 0 && quiet > IDLE_MS) || quiet > ABANDONED_MS;
  } catch {
    // A failed probe is not proof of idleness (a busy or full server refuses it too): only a server that
    // stays unreachable for long is given up on.
    failingSince ??= Date.now();
    idleSince = Date.now();
    idle = Date.now() - failingSince > ABANDONED_MS;
  } finally {
    await client.end().catch(() => {});
  }
  if (idle) {
    await server.stop();
    process.exit(0);
  }
  setTimeout(probe, 1000);
};
setTimeout(probe, 1000);
