import { Kysely, PostgresDialect } from 'kysely';
import type pg from 'pg';
import { createPool, type Db } from './kysely.ts';
import type { StatementRunner } from './named-statement.ts';
import type { Database } from './schema.ts';

/** How long a replica that failed is left out before a read tries it again. */
export const REPLICA_RETRY_MS = 5000;
/** A replica that does not answer a connection attempt within this is treated as failed (its reads go to the primary). */
const CONNECT_TIMEOUT_MS = 2000;
/** How often a Consistency-Token read looks at a replica's replay position while it waits. */
const REPLAY_POLL_MS = 10;

/** Where one request's queries read: a replica (falling back to the primary when it fails) or the primary. */
export interface ReadTarget {
  /** `primary`, or the replica's label: host, port and database of its URL, never its credentials. */
  readonly name: string;
  readonly db: Db;
  readonly pool: StatementRunner;
}

/** The label a replica's metrics and logs carry: its URL without user, password or options. */
export function replicaLabel(url: string): string {
  const parsed = new URL(url);
  return `${parsed.host}${parsed.pathname}`;
}

/** A connection-level failure (the server is gone, starting, shutting down or unreachable), not a query's own error. */
export function isConnectionFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (/^08/.test(code) || /^57P0[123]$/.test(code) || /^E[A-Z]+$/.test(code))) return true;
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|timeout exceeded when trying to connect/i.test(message);
}

/** One streaming replica: its own pool, and whether it is being skipped after a failure. */
export class Replica {
  readonly name: string;
  /** Straight to the replica, no fallback: replay checks and lag reads must know whom they asked. */
  readonly pool: pg.Pool;
  #downUntil = 0;
  #clock: () => number;

  readonly #onFailure: ((replica: string, error: unknown) => void) | undefined;

  constructor(url: string, max: number, clock: () => number, onFailure?: (replica: string, error: unknown) => void) {
    this.name = replicaLabel(url);
    this.#clock = clock;
    this.#onFailure = onFailure;
    this.pool = createPool({ url, max, applicationName: 'callsnare-read', connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    // An idle connection lost (the replica stopped, restarted or became unreachable): skip it for a while.
    this.pool.on('error', (error) => {
      this.markFailed(error);
    });
  }

  /** True while the replica is being skipped after a failure. */
  get down(): boolean {
    return this.#clock() < this.#downUntil;
  }

  /** Skips the replica for {@link REPLICA_RETRY_MS}; reports `error` when it was not already skipped. */
  markFailed(error?: unknown): void {
    if (!this.down) this.#onFailure?.(this.name, error);
    this.#downUntil = this.#clock() + REPLICA_RETRY_MS;
  }
}

/**
 * A pool-like that checks connections out of `replica` while it answers, else out of the primary: what a
 * read target's kysely and named statements run on. Counts each checkout by the database that served it.
 */
class RoutedPool implements StatementRunner {
  readonly #replica: Replica | undefined;
  readonly #primary: pg.Pool;
  readonly #counts: Map<string, number>;

  constructor(replica: Replica | undefined, primary: pg.Pool, counts: Map<string, number>) {
    this.#replica = replica;
    this.#primary = primary;
    this.#counts = counts;
  }

  #count(name: string): void {
    this.#counts.set(name, (this.#counts.get(name) ?? 0) + 1);
  }

  async connect(): Promise<pg.PoolClient> {
    const replica = this.#replica;
    if (replica && !replica.down) {
      try {
        const client = await replica.pool.connect();
        this.#count(replica.name);
        return client;
      } catch (error) {
        // Whatever stops a connection (unreachable, starting, wrong password or database) makes the replica unusable, not the read.
        replica.markFailed(error);
      }
    }
    const client = await this.#primary.connect();
    this.#count('primary');
    return client;
  }

  async query<R extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>> {
    const client = await this.connect();
    try {
      const result = await client.query<R>(config);
      client.release();
      return result;
    } catch (error) {
      const lost = isConnectionFailure(error);
      // A connection that failed mid-query is not returned to the pool; its replica is skipped for a while.
      client.release(lost ? (error as Error) : undefined);
      if (lost) this.#replica?.markFailed(error);
      throw error;
    }
  }

  /** Kysely's `destroy` ends its pool: the replica's and the primary's are ended by their owners instead. */
  async end(): Promise<void> {}
}

/**
 * The read side of a process: the primary and, when `READ_DATABASE_URL` names any, its streaming replicas.
 * Each request picks one target ({@link choose}); replicas take turns, a failing one is skipped for
 * {@link REPLICA_RETRY_MS} and its reads go to the primary. Replica pools connect only when first used.
 */
export class ReadDatabases {
  readonly replicas: readonly Replica[];
  /** Connection checkouts for reads by the database that served them (a replica's label or `primary`). */
  readonly checkouts = new Map<string, number>();
  readonly #primary: pg.Pool;
  readonly #targets: readonly ReadTarget[];
  readonly #fallback: ReadTarget;
  #next = 0;

  constructor(
    primary: pg.Pool,
    urls: readonly string[],
    options: {
      readonly max?: number;
      readonly clock?: () => number;
      /** Told when a replica starts being skipped (at most once per retry interval, not per read). */
      readonly onFailure?: (replica: string, error: unknown) => void;
    } = {},
  ) {
    const clock = options.clock ?? Date.now;
    this.#primary = primary;
    this.replicas = urls.map((url) => new Replica(url, options.max ?? 10, clock, options.onFailure));
    const target = (name: string, replica: Replica | undefined): ReadTarget => {
      const pool = new RoutedPool(replica, primary, this.checkouts);
      return { name, pool, db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }) };
    };
    this.#targets = this.replicas.map((replica) => target(replica.name, replica));
    this.#fallback = target('primary', undefined);
  }

  /** The next replica that is not being skipped (round-robin), or the primary when every one is. */
  choose(): ReadTarget {
    for (let i = 0; i < this.replicas.length; i++) {
      const index = (this.#next + i) % this.replicas.length;
      if (!this.replicas[index]!.down) {
        this.#next = index + 1;
        return this.#targets[index]!;
      }
    }
    return this.#fallback;
  }

  /**
   * Read-your-writes on a replica: once the primary's read models hold a write, waits (up to `budgetMs`)
   * until `target`'s replica has replayed the primary's WAL as far as it reaches now, which includes the
   * transaction that put the write in the read models. Answers `target` when it has, the primary otherwise
   * (the replica lags, is down, or failed the check).
   */
  async caughtUp(target: ReadTarget, budgetMs: number): Promise<ReadTarget> {
    const replica = this.replicas.find((r) => r.name === target.name);
    if (!replica) return target;
    const deadline = Date.now() + budgetMs;
    const { rows } = await this.#primary.query<{ lsn: string }>('select pg_current_wal_insert_lsn()::text as lsn');
    const lsn = rows[0]!.lsn;
    try {
      for (;;) {
        if (replica.down) return this.#fallback;
        // Not in recovery (a promoted replica, or the primary itself named as a replica): it has every write.
        const { rows: replayed } = await replica.pool.query<{ done: boolean }>(
          'select coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, not pg_is_in_recovery()) as done',
          [lsn],
        );
        if (replayed[0]!.done) return target;
        if (Date.now() + REPLAY_POLL_MS >= deadline) return this.#fallback;
        await new Promise((resolve) => setTimeout(resolve, REPLAY_POLL_MS));
      }
    } catch (error) {
      if (isConnectionFailure(error)) replica.markFailed(error);
      return this.#fallback;
    }
  }

  /** Ends the replicas' pools (the primary's belongs to the process). */
  async close(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.pool.end()));
  }
}
