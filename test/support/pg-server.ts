// A detached embedded PostgreSQL for test runs: started on demand by the first test file that needs it,
// shared by all the others, and stopped once no test has been connected for a while.
import pg from 'pg';
import { ensureEmbeddedPostgres } from '../../src/db/embedded.ts';

const dataDir = process.argv[2]!;
const IDLE_MS = 15_000;

const server = await ensureEmbeddedPostgres({ dataDir, fast: true, database: 'postgres' });
if (!server.owned) process.exit(0);

/** A server that cannot be probed for this long is given up on (it is gone, or nothing will ever come back). */
const UNREACHABLE_MS = 600_000;

let idleSince = Date.now();
let failingSince: number | undefined;
// One probe at a time: on a loaded machine a probe can take seconds, and overlapping ones only add load.
const probe = async (): Promise<void> => {
  const client = new pg.Client({ connectionString: server.adminUrl, connectionTimeoutMillis: 10_000 });
  client.on('error', () => {});
  let idle = false;
  try {
    await client.connect();
    const { rows } = await client.query<{ n: string }>(
      "select count(*) as n from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()",
    );
    failingSince = undefined;
    if (Number(rows[0]!.n) > 0) idleSince = Date.now();
    idle = Date.now() - idleSince > IDLE_MS;
  } catch {
    // A failed probe is not proof of idleness (a busy or full server refuses it too): only a server that
    // stays unreachable for long is given up on.
    failingSince ??= Date.now();
    idleSince = Date.now();
    idle = Date.now() - failingSince > UNREACHABLE_MS;
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
