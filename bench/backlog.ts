// What a measured run inherits from earlier runs on the bench database, set aside before it starts: the
// events the process manager and the lead/booking reactor have not handled and the jobs still queued.
// Otherwise a run also queues and sends the previous runs' confirmations (and a run's figure depends on
// how far behind the one before it left automation); bench/automation.ts measures that work on its own.
import { makeWorkerUtils } from 'graphile-worker';
import { sql } from 'kysely';
import type pg from 'pg';
import { LEAD_BOOKING_LINK } from '../src/automation/lead-booking-link.ts';
import { PROCESS_MANAGER } from '../src/automation/process-manager-runner.ts';
import type { Db } from '../src/db/kysely.ts';
import type { EventStore } from '../src/eventstore/port.ts';
import { lockCheckpoint, saveCheckpoint } from '../src/subscriptions/checkpoints.ts';

/** Moves automation's checkpoints to the store's head and removes every queued job (WorkerUtils.completeJobs). */
export async function setAutomationBacklogAside(deps: { db: Db; pool: pg.Pool; store: EventStore }): Promise<void> {
  const head = await deps.store.headPosition();
  await deps.db.transaction().execute(async (trx) => {
    for (const name of [PROCESS_MANAGER, LEAD_BOOKING_LINK]) {
      await lockCheckpoint(trx, name);
      await saveCheckpoint(trx, name, head, 0);
    }
  });
  // No queue yet: no service has started on this database.
  const { rows: queue } = await sql<{ exists: boolean }>`select to_regclass('graphile_worker.jobs') is not null as exists`.execute(deps.db);
  if (!queue[0]?.exists) return;
  const { rows } = await sql<{ id: string }>`select id from graphile_worker.jobs`.execute(deps.db);
  if (rows.length === 0) return;
  const utils = await makeWorkerUtils({ pgPool: deps.pool });
  try {
    await utils.completeJobs(rows.map((r) => r.id));
  } finally {
    await utils.release();
  }
}
