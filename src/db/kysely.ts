import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.ts';

// int8 and numeric come back as strings by default; keep them exact (positions exceed 2^53 on ESDB).
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => v);

/** Options of {@link createDb}. */
export interface DbOptions {
  readonly url: string;
  readonly max?: number;
  readonly applicationName?: string;
  /** Give up a connection attempt after this long (unset: wait as long as the server takes). */
  readonly connectionTimeoutMillis?: number;
}

/** A kysely instance over a pg pool; `db.destroy()` ends the pool. */
export type Db = Kysely<Database>;

export function createPool(options: DbOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'callsnare',
    ...(options.connectionTimeoutMillis !== undefined && { connectionTimeoutMillis: options.connectionTimeoutMillis }),
    // A forgotten open transaction would hold back pg_snapshot_xmin and stall every subscriber.
    options: '-c idle_in_transaction_session_timeout=30000',
  });
  // An idle client losing its connection must not crash the process; the next checkout reconnects.
  pool.on('error', () => {});
  // A checked-out client's socket error is reported to its query; the listener keeps it from crashing us.
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

export function createDb(options: DbOptions): { db: Db; pool: pg.Pool } {
  const pool = createPool(options);
  return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), pool };
}
