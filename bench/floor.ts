// Starts the floor baseline (bench/floor-server.ts) and captures the statement the service's
// listBookings runs, so the floor's GET /bookings runs the very same SQL.
import { type CompiledQuery, Kysely, PostgresDialect } from 'kysely';
import type { Database } from '../src/db/schema.ts';
import { createPool } from '../src/db/kysely.ts';
import { type ListBookingsInput, listBookings } from '../src/queries/bookings.ts';
import { APP_POOL_SIZE } from './app.ts';
import { type BenchProcess, spawnLogged, stopProcesses, within } from './processes.ts';

/** The statement `listBookings(db, orgId, input)` sends, with its parameters. */
export async function capturedListQuery(
  url: string,
  orgId: string,
  input: ListBookingsInput,
): Promise<{ sql: string; parameters: unknown[] }> {
  let captured: CompiledQuery | undefined;
  const pool = createPool({ url, max: 1, applicationName: 'bench-capture' });
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => {
      if (event.level === 'query') captured = event.query;
    },
  });
  try {
    await listBookings(db, orgId, input);
  } finally {
    await db.destroy();
  }
  if (!captured) throw new Error('listBookings ran no query');
  return { sql: captured.sql, parameters: [...captured.parameters] };
}

/** The floor server on the bench database, same pool size as the service; resolves once it listens. */
export async function startFloor(
  url: string,
  listQuery?: { sql: string; parameters: unknown[] },
): Promise<{ process: BenchProcess; baseUrl: string }> {
  const proc = spawnLogged(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), 'bench/floor-server.ts'],
    { FLOOR_DATABASE_URL: url, FLOOR_POOL_SIZE: String(APP_POOL_SIZE), ...(listQuery && { FLOOR_LIST_QUERY: JSON.stringify(listQuery) }) },
    /^floor listening$/,
  );
  try {
    const line = await within(60_000, 'floor server', proc.ready);
    return { process: proc, baseUrl: String(line.address) };
  } catch (error) {
    await stopProcesses([proc]);
    throw error;
  }
}
