import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { Logger as GraphileLogger, type Runner, type WorkerEvents, type WorkerUtils, makeWorkerUtils, run } from 'graphile-worker';
import { type Kysely, sql } from 'kysely';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Services } from '../services.ts';
import { migrateJobQueue } from '../db/migrate.ts';
import type { Database } from '../db/schema.ts';
import { createMessaging } from './messaging/index.ts';
import { LeaseLostError, type Messaging } from './messaging/port.ts';
import { type TaskDeps, taskList } from './tasks.ts';
import { CLEANUP_CRON, CLEANUP_TASK, cleanupTask } from './cleanup.ts';

/** Options of a worker process. */
export interface WorkerOptions {
  /** Jobs run at once by this process (default 4). */
  readonly concurrency?: number;
  /** Poll for due jobs this often (ms, default 1000); new jobs also wake workers through LISTEN/NOTIFY. */
  readonly pollIntervalMs?: number;
  /** Look for jobs locked by dead worker processes this often (ms, default 30 s; also once at start). */
  readonly recoveryIntervalMs?: number;
  /** On stop, how long a running job may finish before it is aborted and released for a retry (ms, default 10 s). */
  readonly shutdownTimeoutMs?: number;
}

/** A running worker process's job runner. */
export interface RunningWorker {
  /** Random per process; its advisory lock says the process is alive. */
  readonly token: string;
  /** graphile-worker's pool id: what `locked_by` holds for this process's jobs. */
  readonly poolId: string;
  /** Releases the jobs of dead worker processes now; returns how many jobs were released. */
  recover(): Promise<number>;
  /** Stops taking jobs, lets running ones finish (or aborts and releases them after the timeout). */
  stop(): Promise<void>;
}

/** Advisory lock class of worker liveness locks: `(class, hashtext(token))`, held while the process lives. */
const LIVENESS_LOCK_CLASS = 0x43534b57;

/** A pool locking jobs without being registered for this long belongs to a process that died while starting. */
const UNREGISTERED_GRACE = '2 minutes';

/** graphile-worker's logger on pino: its per-job info lines go to debug. */
export function graphileLogger(log?: Logger): GraphileLogger {
  return new GraphileLogger((scope) => (level, message, meta) => {
    if (!log) return;
    const name: string = level;
    const method = name === 'error' ? 'error' : name === 'warning' ? 'warn' : 'debug';
    log[method]({ graphile: scope, ...(meta?.error !== undefined && { err: meta.error }) }, message);
  });
}

/**
 * Releases jobs locked by worker processes that are gone (graphile-worker itself would wait 4 hours).
 * Every worker process holds a session advisory lock on its token while it lives and registers its
 * pool in `automation_workers`; a token whose lock can be taken belongs to a dead process (SIGKILL,
 * crash, lost host), so its pools' jobs are unlocked (`force_unlock_workers`) and run again. A re-run
 * never texts twice: the task re-reads the booking and the `outbound_messages` ledger first.
 */
export async function recoverDeadWorkers(
  db: Kysely<Database>,
  utils: Pick<WorkerUtils, 'forceUnlockWorkers'>,
  options: { ownToken?: string; log?: Logger } = {},
): Promise<number> {
  const { rows: locked } = await sql<{ pool: string; jobs: string; stale: boolean }>`
    select locked_by as pool, count(*) as jobs, bool_and(locked_at < now() - ${UNREGISTERED_GRACE}::interval) as stale
      from graphile_worker.jobs where locked_by is not null group by 1`.execute(db);
  const registry = await db.selectFrom('automation_workers').select(['pool_id', 'token']).execute();
  const tokenOf = new Map(registry.map((r) => [r.pool_id, r.token]));
  const jobsOf = new Map(locked.map((l) => [l.pool, Number(l.jobs)]));
  const unlock = async (pools: string[]) => {
    const jobs = pools.reduce((n, p) => n + (jobsOf.get(p) ?? 0), 0);
    if (jobs === 0) return 0;
    await utils.forceUnlockWorkers(pools);
    options.log?.warn({ pools, jobs }, 'released the jobs of a dead worker');
    return jobs;
  };

  let released = 0;
  // A pool nobody registered (its process died between creating it and registering it) that has held
  // its jobs for a long time.
  const orphans = locked.filter((l) => !tokenOf.has(l.pool) && l.stale).map((l) => l.pool);
  if (orphans.length) released += await unlock(orphans);

  const tokens = new Set(registry.map((r) => r.token));
  tokens.delete(options.ownToken ?? '');
  for (const token of tokens) {
    await db.connection().execute(async (conn) => {
      const { rows } = await sql<{
        free: boolean;
      }>`select pg_try_advisory_lock(${LIVENESS_LOCK_CLASS}::int, hashtext(${token})) as free`.execute(conn);
      if (!rows[0]?.free) return;
      try {
        released += await unlock(registry.filter((r) => r.token === token).map((r) => r.pool_id));
        await conn.deleteFrom('automation_workers').where('token', '=', token).execute();
      } finally {
        await sql`select pg_advisory_unlock(${LIVENESS_LOCK_CLASS}::int, hashtext(${token}))`.execute(conn);
      }
    });
  }
  return released;
}

/** What a worker generation needs: the task deps, the pool graphile-worker runs on, its utilities. */
type QueueDeps = TaskDeps & { readonly pool: pg.Pool; readonly utils: WorkerUtils };

/** One life of a worker: a liveness token and connection, a graphile-worker pool registered under it. */
interface Generation {
  readonly token: string;
  readonly poolId: string;
  /** Aborts every send of this generation's jobs: the generation can no longer prove it is alive. */
  readonly fence: AbortController;
  recover(): Promise<number>;
  /** Stops the runner (after `fence` aborted: at once), releases what it holds, ends the liveness session. */
  stop(): Promise<void>;
}

/** How often the liveness connection is pinged, and how long a ping may take before the worker fences itself. */
const HEARTBEAT_MS = 1000;
const HEARTBEAT_TIMEOUT_MS = 15_000;

async function startGeneration(
  deps: QueueDeps,
  options: WorkerOptions,
  log: Logger | undefined,
  onLost: (generation: Generation, reason: string) => void,
): Promise<Generation> {
  const token = randomBytes(8).toString('hex');
  const fence = new AbortController();
  const liveness = await deps.pool.connect();
  let lost: ((reason: string) => void) | undefined;
  let pendingLoss: string | undefined;
  const loseLiveness = (reason: string) => (lost ? lost(reason) : (pendingLoss ??= reason));
  liveness.on('error', (error) => loseLiveness(`liveness connection error: ${error.message}`));
  liveness.on('end', () => loseLiveness('liveness connection ended'));
  await liveness.query('select pg_advisory_lock($1::int, hashtext($2))', [LIVENESS_LOCK_CLASS, token]);

  // The pool id is only known once graphile-worker creates the pool (synchronously, before any job is
  // taken); the registration follows at once, and is awaited before this returns.
  const events: WorkerEvents = new EventEmitter();
  let registered: Promise<unknown> | undefined;
  let poolId = '';
  events.on('pool:create', ({ workerPool }) => {
    poolId = workerPool.id;
    registered = deps.db.insertInto('automation_workers').values({ pool_id: poolId, token, pid: process.pid, host: hostname() }).execute();
  });
  let runner: Runner | undefined;
  try {
    const concurrency = Math.max(1, options.concurrency ?? 4);
    runner = await run({
      pgPool: deps.pool,
      concurrency,
      // Batching (graphile-worker's "performance" guide): the pool locks a few jobs per fetch and completes
      // finished jobs together, instead of a round trip per job each way. Jobs in the local queue are locked
      // by this pool, so fencing and dead-worker recovery treat them as held.
      preset: { worker: { localQueue: { size: concurrency * 2 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
      noHandleSignals: true,
      pollInterval: options.pollIntervalMs ?? 1000,
      gracefulShutdownAbortTimeout: options.shutdownTimeoutMs ?? 10_000,
      taskList: { ...taskList(deps, { fence: fence.signal }), [CLEANUP_TASK]: cleanupTask(deps) },
      // Our cron only (given, graphile-worker would otherwise look for a `crontab` file in the working directory).
      parsedCronItems: CLEANUP_CRON,
      logger: graphileLogger(log),
      events,
    });
    if (!registered) throw new Error('graphile-worker did not report its pool (pool:create); cannot register the worker for liveness');
    await registered;
  } catch (error) {
    await runner?.stop().catch(() => {});
    liveness.release(true);
    throw error;
  }
  const started = runner;

  const recover = () => recoverDeadWorkers(deps.db, deps.utils, { ownToken: token, ...(log && { log }) });
  const sweep = () => recover().catch((error: unknown) => log?.error({ err: error }, 'recovering the jobs of dead workers failed'));
  await sweep();
  const timer = setInterval(() => void sweep(), options.recoveryIntervalMs ?? 30_000);
  timer.unref();
  // The advisory lock lives as long as this session: a ping that fails or hangs means others may take it
  // (and this worker's jobs) at any moment, so the worker fences itself before they can.
  let pinging = false;
  const heartbeat = setInterval(() => {
    if (pinging) return;
    pinging = true;
    let timeout: NodeJS.Timeout | undefined;
    Promise.race([
      liveness.query('select 1'),
      new Promise(
        (_, reject) => (timeout = setTimeout(() => reject(new Error(`no answer within ${HEARTBEAT_TIMEOUT_MS} ms`)), HEARTBEAT_TIMEOUT_MS)),
      ),
    ])
      .catch((error: unknown) => loseLiveness(`liveness ping failed: ${(error as Error).message}`))
      .finally(() => {
        clearTimeout(timeout);
        pinging = false;
      });
  }, HEARTBEAT_MS);
  heartbeat.unref();

  let stopped: Promise<void> | undefined;
  let broken = false;
  let finished = false;
  const generation: Generation = {
    token,
    poolId,
    fence,
    recover,
    stop: () =>
      (stopped ??= (async () => {
        finished = true;
        clearInterval(timer);
        clearInterval(heartbeat);
        await started.stop().catch((error: unknown) => log?.error({ err: error }, 'worker did not stop cleanly'));
        // The registration is what lets the other workers release this pool's jobs once its liveness lock is
        // free: it goes only when the pool holds nothing (else they would wait for an unregistered pool's grace).
        if (await releaseOwnJobs(deps, poolId, log))
          await deps.db
            .deleteFrom('automation_workers')
            .where('token', '=', token)
            .execute()
            .catch(() => {});
        if (!broken) await liveness.query('select pg_advisory_unlock($1::int, hashtext($2))', [LIVENESS_LOCK_CLASS, token]).catch(() => {});
        liveness.removeAllListeners('error');
        liveness.removeAllListeners('end');
        liveness.on('error', () => {});
        liveness.release(broken || undefined);
      })()),
  };
  lost = (reason) => {
    if (broken || finished) return;
    broken = true;
    fence.abort(new LeaseLostError(`worker lost its database liveness (${reason})`));
    onLost(generation, reason);
  };
  if (pendingLoss) lost(pendingLoss);
  return generation;
}

/**
 * Starts this process's job runner (graphile-worker, `concurrency` jobs at once) and registers it for
 * liveness (see {@link recoverDeadWorkers}). The workers of all processes share the queue
 * (graphile-worker locks each job with SKIP LOCKED), so any number may run.
 *
 * Fencing: a worker whose liveness session is gone (its connection dropped, or a ping failed or hung) can
 * no longer prove it is alive, and others may release its jobs at any moment. It aborts every in-flight
 * send at once (the job's AbortSignal), stops that runner, and starts again with a new liveness session.
 * Independently, every send first records its intent in `outbound_messages` only while its pool still
 * holds the job, so a reclaimed job is never sent twice.
 */
export async function startWorker(taskDeps: TaskDeps & { readonly pool: pg.Pool }, options: WorkerOptions = {}): Promise<RunningWorker> {
  await migrateJobQueue(taskDeps.pool);
  const log = taskDeps.log?.child({ component: 'worker' });
  const deps: QueueDeps = { ...taskDeps, utils: await makeWorkerUtils({ pgPool: taskDeps.pool, logger: graphileLogger(log) }) };
  let stopping = false;
  let restarting: Promise<void> | undefined;
  const onLost = (lostGeneration: Generation, reason: string) => {
    log?.error(
      { poolId: lostGeneration.poolId, reason },
      'worker lost its database liveness: in-flight sends aborted; restarting the runner',
    );
    restarting = (async () => {
      await lostGeneration.stop();
      for (let delay = 500; !stopping; delay = Math.min(delay * 2, 10_000)) {
        try {
          current = await startGeneration(deps, options, log, onLost);
          log?.info({ poolId: current.poolId }, 'automation worker running again');
          return;
        } catch (error) {
          log?.error({ err: error }, `worker could not restart; retrying in ${delay} ms`);
          await new Promise((r) => setTimeout(r, delay));
        }
      }
    })();
  };
  let current = await startGeneration(deps, options, log, onLost);
  log?.info(
    { poolId: current.poolId, pid: process.pid, concurrency: options.concurrency ?? 4, messaging: deps.messaging.provider },
    'automation worker running',
  );

  let stopped: Promise<void> | undefined;
  return {
    get token() {
      return current.token;
    },
    get poolId() {
      return current.poolId;
    },
    recover: () => current.recover(),
    stop: () =>
      (stopped ??= (async () => {
        stopping = true;
        await restarting;
        await current.stop();
        await deps.utils.release();
      })()),
  };
}

/**
 * After the runner stopped, every task has ended; graphile-worker 0.17 writes their completion or failure
 * without awaiting it, so give those writes a moment, then unlock whatever this pool still holds (a job
 * whose completion was lost runs again and finds its message already sent). True once the pool holds
 * nothing; false when the database could not be asked or told (say, its sessions were terminated).
 */
async function releaseOwnJobs({ db, utils }: QueueDeps, poolId: string, log?: Logger): Promise<boolean> {
  const held = async () =>
    Number((await sql<{ n: string }>`select count(*) as n from graphile_worker.jobs where locked_by = ${poolId}`.execute(db)).rows[0]!.n);
  // A pooled connection whose session was terminated fails once and leaves the pool: try again on another.
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      for (let i = 0; i < 40 && (await held()) > 0; i++) await new Promise((r) => setTimeout(r, 50));
      const left = await held();
      if (left > 0) {
        await utils.forceUnlockWorkers([poolId]);
        log?.warn({ jobs: left }, 'released jobs still locked at shutdown');
      }
      return true;
    } catch (error) {
      log?.error({ err: error, attempt }, 'could not release the jobs locked at shutdown');
    }
  }
  return false;
}

/** Options of {@link startAutomation}. */
export interface AutomationOptions extends WorkerOptions {
  /** Overrides the adapter chosen by MESSAGING (tests). */
  readonly messaging?: Messaging;
}

/** The automation of one process: its job runners (the process manager runs as a subscriber, see `src/subscribers.ts`). */
export interface RunningAutomation {
  readonly worker: RunningWorker;
  stop(): Promise<void>;
}

/** Starts the job runners (and installs the job queue's schema, which the process manager queues into). */
export async function startAutomation(services: Services, options: AutomationOptions = {}): Promise<RunningAutomation> {
  const messaging = options.messaging ?? createMessaging(services.config, services);
  if (messaging.provider === 'twilio') {
    const { rows } = await sql<{ n: string }>`
      select count(*) as n from orgs where coalesce(state->'settings'->>'a2pCampaignId', '') = ''`.execute(services.db);
    services.log.warn(
      { orgsWithoutCampaign: Number(rows[0]?.n ?? 0) },
      'MESSAGING=twilio: automated texts (text-back, confirmations, reminders, notices) start only for orgs with an A2P 10DLC campaign id (settings a2pCampaignId); carriers block unregistered traffic, so jobs of other orgs end skipped with reason no_a2p_campaign',
    );
  }
  const worker = await startWorker({ ...services, messaging }, options);
  return { worker, stop: () => worker.stop() };
}
