import { randomUUID } from 'node:crypto';
import { runOnce } from 'graphile-worker';
import { sql } from 'kysely';
import { listJobs, type QueuedJob } from '../../src/automation/job-queue.ts';
import { logMessaging } from '../../src/automation/messaging/log.ts';
import type { Messaging } from '../../src/automation/messaging/port.ts';
import { processManager } from '../../src/automation/process-manager-runner.ts';
import { catchUp } from '../../src/subscriptions/engine.ts';
import { type TaskDeps, taskList } from '../../src/automation/tasks.ts';
import { graphileLogger } from '../../src/automation/worker.ts';
import { createBooking } from '../../src/commands/bookings.ts';
import type { CommandCaller } from '../../src/commands/context.ts';
import { execute } from '../../src/commands/execute.ts';
import { migrateJobQueue } from '../../src/db/migrate.ts';
import { type OrgEvent, type OrgState, decide as decideOrg, evolve as evolveOrg, orgStream } from '../../src/domain/org.ts';
import type { BillingStatus } from '../../src/domain/events/org.ts';
import type { TimeWindow } from '../../src/domain/values.ts';
import { type TestApp, type TestClock, operator, testApp, testClock } from '../support/app.ts';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A row of `outbound_messages`. */
export interface Outbound {
  job_key: string;
  message_id: string;
  org_id: string;
  provider: string;
  kind: string;
  to: string;
  from: string | null;
  body: string;
  subject: string;
  sent_at: Date;
  requests: number;
}

/**
 * The automation on a real database with a controllable clock.
 *
 * Time travel: the process manager computes run instants from the test clock, but graphile-worker picks
 * jobs by the database's `now()`. Clocks here start years ahead of real time, so no job is ever due by
 * itself: `runDue()` moves every job whose `run_at` is at or before the test clock to `now()`, then runs
 * them with graphile-worker's `runOnce`. Tests assert on `run_at` (`jobs()`) before pulling jobs forward.
 */
export interface AutomationTestApp extends TestApp {
  readonly clock: TestClock;
  readonly deps: TaskDeps;
  /** Runs the process manager up to the store's head; returns the events handled. */
  queue(): Promise<number>;
  /** Waits until every committed event is visible to subscribers, then runs every projection. */
  project(): Promise<void>;
  jobs(options?: { task?: string }): Promise<QueuedJob[]>;
  /** Runs every job due at the test clock (once each); optionally through another messaging adapter. */
  runDue(options?: { messaging?: Messaging }): Promise<void>;
  outbound(subject?: string): Promise<Outbound[]>;
  /** Event types of a stream, in order. */
  eventTypes(streamId: string): Promise<string[]>;
  /** A booking of `orgId` with the given window. */
  book(orgId: string, window: TimeWindow, phone?: string): Promise<string>;
  setBilling(orgId: string, status: BillingStatus): Promise<void>;
  /** Empties every table and the job queue (per-test isolation). */
  reset(): Promise<void>;
}

export const START = '2031-03-10T15:00:00.000Z'; // a Monday, 10:00 in Chicago

export async function automationApp(
  t: Teardown,
  options: { start?: string; env?: Record<string, string> } = {},
): Promise<AutomationTestApp> {
  const clock = testClock(options.start ?? START);
  const ctx = await testApp(t, { clock, ...(options.env && { env: options.env }) });
  const { services, database } = ctx;
  await migrateJobQueue(database.pool);
  const deps: TaskDeps = { ...services, messaging: logMessaging({ db: services.db, clock }) };
  const integration = (orgId: string): CommandCaller => ({
    orgId,
    actor: { type: 'integration', id: 'cred-test', label: 'Dispatch board' },
    correlationId: randomUUID(),
  });
  let phone = 5550200;
  /**
   * Subscribers only read events older than every running transaction, cluster-wide: another test
   * file's open transaction can hide our last write for a moment.
   */
  const visible = async () => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { rows } = await sql<{
        n: string;
      }>`select count(*) as n from es_events where transaction_id >= pg_snapshot_xmin(pg_current_snapshot())`.execute(services.db);
      if (rows[0]!.n === '0') return;
      if (Date.now() > deadline) throw new Error('committed events stayed invisible for 60 s');
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  return {
    ...ctx,
    clock,
    deps,
    async queue() {
      await visible();
      return catchUp(services, processManager);
    },
    async project() {
      await visible();
      await ctx.catchUpAll();
    },
    jobs: (o) => listJobs(services.db, o),
    async runDue(o = {}) {
      await sql`update graphile_worker._private_jobs set run_at = now() where run_at <= ${clock().toISOString()}::timestamptz and locked_at is null`.execute(
        services.db,
      );
      await runOnce({
        pgPool: database.pool,
        noHandleSignals: true,
        logger: graphileLogger(),
        taskList: taskList(o.messaging ? { ...deps, messaging: o.messaging } : deps),
      });
      // graphile-worker 0.17 completes (or fails) a job without awaiting it before runOnce resolves.
      for (let i = 0; i < 200; i++) {
        const { rows } = await sql<{ n: string }>`select count(*) as n from graphile_worker.jobs where locked_at is not null`.execute(
          services.db,
        );
        if (rows[0]!.n === '0') break;
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async outbound(subject) {
      const { rows } = await sql<Outbound>`
        select * from outbound_messages where ${subject ?? null}::text is null or subject = ${subject ?? null} order by created_at, job_key`.execute(
        services.db,
      );
      return rows;
    },
    async eventTypes(streamId) {
      // through the store, so this reads the same on either store EVENT_STORE selects
      return (await services.store.readStream(streamId)).map((e) => e.type);
    },
    async book(orgId, window, customerPhone = `+1512${phone++}`) {
      const { booking } = await createBooking(services, integration(orgId), {
        customer: { name: 'Dana Diaz', phone: customerPhone },
        window,
      });
      return booking.id;
    },
    async setBilling(orgId, status) {
      await execute<OrgState, OrgEvent>(services, operator(orgId), {
        streamId: orgStream(orgId),
        evolve: evolveOrg,
        initial: null,
        decide: (loaded, now) => ({
          append: decideOrg(
            { type: 'ChangeBillingStatus', now: now.toISOString(), data: { orgId, status, stripeEventId: `evt_${randomUUID()}` } },
            loaded.state,
          ),
        }),
      });
    },
    async reset() {
      await database.reset();
      if (services.store.kind === 'esdb') {
        // EventStoreDB keeps every earlier test's events: the process manager starts again at the log's
        // head (as migration 011 seeds it), not at the start of a log full of other tests' bookings.
        await services.db
          .insertInto('projection_checkpoints')
          .values({ name: processManager.name, commit_position: null, prepare_position: null, seed_at_head: true })
          .execute();
      }
      await sql`delete from graphile_worker._private_jobs`.execute(services.db);
      clock.set(options.start ?? START);
    },
  };
}
