import type pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Db } from './db/kysely.ts';
import type { ReadDatabases } from './db/read-pool.ts';
import type { EventStore } from './eventstore/port.ts';
import type { CheckpointSignal } from './subscriptions/checkpoint-signal.ts';

/**
 * Everything a process builds once and passes down: the product of the composition root (`src/app.ts`).
 * A leaf module, so any layer may name the type without importing the root.
 */
export interface Services {
  readonly config: Config;
  readonly log: Logger;
  readonly db: Db;
  readonly pool: pg.Pool;
  /** The streaming replicas the HTTP queries read on (`READ_DATABASE_URL`); absent: they read on `db`. */
  readonly reads?: ReadDatabases;
  readonly store: EventStore;
  readonly clock: () => Date;
  /** The database in use (from DATABASE_URL or the embedded server). */
  readonly databaseUrl: string;
  /** Wakes reads waiting for a read model when a checkpoint moves (absent: they poll). */
  readonly checkpoints?: CheckpointSignal;
}
