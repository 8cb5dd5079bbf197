import type { Logger } from 'pino';
import type pg from 'pg';
import type { Config } from './config.ts';
import { seedCheckpoints } from './subscriptions/checkpoint-seed.ts';
import { ensureEmbeddedPostgres, type EmbeddedServer } from './db/embedded.ts';
import { createDb, type Db } from './db/kysely.ts';
import { migrateToLatest } from './db/migrate.ts';
import type { EventStore } from './eventstore/port.ts';
import { PostgresEventStore } from './eventstore/postgres/store.ts';

/** Everything a process builds once and passes down: the composition root's product. */
export interface Services {
  readonly config: Config;
  readonly log: Logger;
  readonly db: Db;
  readonly pool: pg.Pool;
  readonly store: EventStore;
  readonly clock: () => Date;
  /** The database in use (from DATABASE_URL or the embedded server). */
  readonly databaseUrl: string;
}

/** Options of {@link openServices}. */
export interface OpenOptions {
  readonly migrate?: boolean;
  readonly clock?: () => Date;
  readonly poolSize?: number;
  /** Awaited before an embedded server we own stops (let the service drain first). */
  readonly beforeDatabaseStop?: () => Promise<void>;
  /** The caller handles SIGINT/SIGTERM and closes the services; otherwise an embedded server we own stops and the process exits. */
  readonly handlesSignals?: boolean;
}

/** Services plus the way to release them. */
export interface OpenServices extends Services {
  close(): Promise<void>;
}

/** Connects to PostgreSQL (starting the embedded one if no DATABASE_URL), migrates, and opens the event store. */
export async function openServices(config: Config, log: Logger, options: OpenOptions = {}): Promise<OpenServices> {
  let embedded: EmbeddedServer | undefined;
  let databaseUrl = config.DATABASE_URL;
  // Whatever stops the embedded server (our close or its library's exit hook) first drains the
  // service and closes our connections, so no session is cut off mid-query.
  let releaseConnections: () => Promise<void> = async () => {};
  if (!databaseUrl) {
    embedded = await ensureEmbeddedPostgres({
      dataDir: config.dataDir,
      log: (message) => log.info(message),
      exitOnSignal: !options.handlesSignals,
      beforeStop: async () => {
        await options.beforeDatabaseStop?.();
        await releaseConnections();
      },
    });
    databaseUrl = embedded.url;
  }
  const { db, pool } = createDb({ url: databaseUrl, max: options.poolSize ?? 20 });
  try {
    if (options.migrate !== false) {
      const applied = await migrateToLatest(db, { pool });
      if (applied.length) log.info({ migrations: applied }, 'applied migrations');
    }
  } catch (error) {
    await db.destroy();
    await embedded?.stop();
    throw error;
  }
  const store = await openEventStore(config, pool, databaseUrl);
  // Right after migrating: the process manager of a new EventStoreDB deployment starts at the head.
  if (options.migrate !== false) {
    await seedCheckpoints({ db, store }).catch(async (error: unknown) => {
      await store.close();
      await db.destroy();
      await embedded?.stop();
      throw error;
    });
  }
  let released: Promise<void> | undefined;
  releaseConnections = () =>
    (released ??= (async () => {
      await store.close();
      await db.destroy();
    })());
  return {
    config,
    log,
    db,
    pool,
    store,
    clock: options.clock ?? (() => new Date()),
    databaseUrl,
    async close() {
      await releaseConnections();
      await embedded?.stop();
    },
  };
}

async function openEventStore(config: Config, pool: pg.Pool, url: string): Promise<EventStore> {
  if (config.EVENT_STORE === 'esdb') {
    const { EsdbEventStore } = await import('./eventstore/esdb/store.ts');
    return new EsdbEventStore({ connectionString: config.EVENTSTORE_CONNECTION_STRING! });
  }
  return new PostgresEventStore({ pool, url });
}
