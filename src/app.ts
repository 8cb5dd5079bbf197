import { setMaxListeners } from 'node:events';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type pg from 'pg';
import type { ServerOptions } from './http/server.ts';
import type { AutomationOptions, RunningAutomation } from './automation/worker.ts';
import type { Config } from './config.ts';
import { CheckpointSignal } from './subscriptions/checkpoint-signal.ts';
import { seedCheckpoints } from './subscriptions/checkpoint-seed.ts';
import { ensureEmbeddedPostgres, type EmbeddedServer } from './db/embedded.ts';
import { createDb } from './db/kysely.ts';
import { migrateToLatest } from './db/migrate.ts';
import { REPLICA_RETRY_MS, ReadDatabases } from './db/read-pool.ts';
import type { EventStore } from './eventstore/port.ts';
import { PostgresEventStore } from './eventstore/postgres/store.ts';
import type { Services } from './services.ts';
import { type RegisteredSubscriber, SUBSCRIBERS } from './subscribers.ts';
import { runSubscriber } from './subscriptions/engine.ts';
import { SharedFeed } from './subscriptions/feed.ts';

// The composition root: `openServices` builds what a process shares, `startProcess` starts its parts.
// `serve`, `project`, `worker`, the tests and the benchmarks all start a process through these two.

export type { Services } from './services.ts';

/** Options of {@link openServices}. */
export interface OpenOptions {
  readonly migrate?: boolean;
  /** With `migrate`, also migrate graphile-worker's job queue schema (default true; one-shot commands that never queue jobs skip it). */
  readonly migrateJobQueue?: boolean;
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
      const applied = await migrateToLatest(db, options.migrateJobQueue === false ? {} : { pool });
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
  const checkpoints = new CheckpointSignal(databaseUrl, pool);
  const reads =
    config.READ_DATABASE_URL &&
    new ReadDatabases(pool, config.READ_DATABASE_URL, {
      max: options.poolSize ?? 20,
      onFailure: (replica, error) =>
        log.warn({ replica, err: error }, `read replica ${replica} failed: its reads go to the primary for ${REPLICA_RETRY_MS / 1000} s`),
    });
  let released: Promise<void> | undefined;
  releaseConnections = () =>
    (released ??= (async () => {
      await checkpoints.close();
      await reads?.close();
      await store.close();
      await db.destroy();
    })());
  return {
    config,
    log,
    db,
    pool,
    ...(reads && { reads }),
    store,
    clock: options.clock ?? (() => new Date()),
    databaseUrl,
    checkpoints,
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

/** How a process runs the automation. */
export interface WorkerParts extends AutomationOptions {
  /** Run the process manager here too (default true; one instance is active across processes). */
  readonly processManager?: boolean;
}

/** The long-lived parts of one process (`serve` runs all three; `project` and `worker` one each). */
export interface ProcessParts {
  /** The HTTP API; with `listen`, bound before anything live starts, so a taken port fails the start with nothing running. */
  readonly http?: { readonly server?: ServerOptions; readonly listen?: { readonly port: number; readonly host: string } };
  /** The projectors and the reactors that run beside them (see `src/subscribers.ts`). */
  readonly projector?: boolean;
  /** The job runners and the process manager; an object tunes them. */
  readonly worker?: boolean | WorkerParts;
}

/** A started process: its HTTP app (if any) and the way to drain it. */
export interface RunningProcess {
  readonly app?: FastifyInstance;
  /** Drains in order: stop taking requests, stop the subscribers, let running jobs finish (or release them). */
  stop(): Promise<void>;
}

/** Starts the parts of a process on `services` (which the caller closes after `stop`). */
export async function startProcess(services: Services, parts: ProcessParts): Promise<RunningProcess> {
  const controller = new AbortController();
  // Every subscriber of the process and the shared feed listen for this one signal: more than Node's
  // default of 10 listeners is the design, not a leak.
  setMaxListeners(0, controller.signal);
  const running: Promise<void>[] = [];
  let app: FastifyInstance | undefined;
  let automation: RunningAutomation | undefined;
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      controller.abort();
      await app?.close();
      await Promise.allSettled([...running, automation?.stop()]);
    })());
  // One read of the store for every subscriber of the process (projectors and worker alike).
  const feed = new SharedFeed(services, controller.signal);
  const runAll = (part: RegisteredSubscriber['runsWith']) => {
    for (const { subscriber, runsWith } of SUBSCRIBERS) {
      if (runsWith === part) running.push(runSubscriber(services, subscriber, controller.signal, feed));
    }
  };
  try {
    // Imported here, not at the top: a one-shot CLI command opens services without loading fastify,
    // the provider SDKs or graphile-worker.
    if (parts.http) {
      const { buildServer } = await import('./http/server.ts');
      app = await buildServer(services, parts.http.server);
      if (parts.http.listen) await app.listen(parts.http.listen);
      else await app.ready();
    }
    if (parts.projector) runAll('projector');
    if (parts.worker) {
      const worker: WorkerParts = parts.worker === true ? {} : parts.worker;
      const { startAutomation } = await import('./automation/worker.ts');
      automation = await startAutomation(services, worker);
      // After the job runners: the process manager queues into the schema they install.
      if (worker.processManager !== false) runAll('worker');
    }
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
  return { ...(app && { app }), stop };
}
