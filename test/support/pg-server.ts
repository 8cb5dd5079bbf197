// A detached embedded PostgreSQL for test runs: started on demand by the first test file that needs it,
// shared by all the others, and stopped once no test has been connected for a while.
import pg from 'pg';
import { ensureEmbeddedPostgres } from '../../src/db/embedded.ts';

const dataDir = process.argv[2]!;
// Long enough to outlast a gap between connections on a loaded machine, where a spawned CLI process or
// worker can take tens of seconds to connect (a test file whose work happens in child processes holds no
// connection meanwhile).
const IDLE_MS = 120_000;

const server = await ensureEmbeddedPostgres({ dataDir, fast: true, database: 'postgres' });
if (!server.owned) process.exit(0);

let idleSince = Date.now();
const timer = setInterval(async () => {
  const client = new pg.Client({ connectionString: server.adminUrl });
  client.on('error', () => {});
  try {
    await client.connect();
    const { rows } = await client.query<{ n: string }>(
      "select count(*) as n from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()",
    );
    if (Number(rows[0]!.n) > 0) idleSince = Date.now();
  } catch {
    // a failed probe is not proof of idleness
    idleSince = Date.now();
  } finally {
    await client.end().catch(() => {});
  }
  if (Date.now() - idleSince > IDLE_MS) {
    clearInterval(timer);
    await server.stop();
    process.exit(0);
  }
}, 1000);
