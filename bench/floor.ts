// Starts the floor baseline (bench/floor-server.ts), given the statement the service's listBookings
// runs (listBookingsStatement), so the floor's GET /bookings runs the very same SQL.
import { APP_POOL_SIZE } from './app.ts';
import { type BenchProcess, spawnLogged, stopProcesses, within } from './processes.ts';

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
