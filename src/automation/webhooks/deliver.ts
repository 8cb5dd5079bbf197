import { type Kysely, sql } from 'kysely';
import type { Logger } from 'pino';
import type { CommandCaller, CommandDeps } from '../../commands/context.ts';
import { type DeliveryQueueKey, disableWebhookEndpoint } from '../../commands/webhook-endpoints.ts';
import type { Config } from '../../config.ts';
import type { Database } from '../../db/schema.ts';
import { LeaseLostError, type SendLease } from '../messaging/port.ts';
import { postWebhook } from './send.ts';
import { signedHeaders } from './sign.ts';

/** What the webhook task needs: the database, the store and clock (to record a disable), the retry policy. */
export interface WebhookTaskDeps extends CommandDeps {
  readonly db: Kysely<Database>;
  readonly config: Pick<Config, 'WEBHOOK_RETRY_DELAYS' | 'WEBHOOK_ALLOW_PRIVATE'>;
  readonly log?: Logger;
}

/** One run of the task for one (endpoint, resource). */
export interface WebhookRun {
  readonly signal?: AbortSignal;
  /** The job and the pool holding it: an attempt is recorded (and made) only while that pool holds it. */
  readonly lease?: SendLease;
  /** Queues this (endpoint, resource) again to run at `runAt` (a retry's time). */
  requeue(runAt: Date): Promise<void>;
}

/** An endpoint failing this long without a success is disabled. */
const DISABLE_AFTER = '5 days';
/** Deliveries one job sends in a row before it lets others run (the rest are queued again at once). */
const PER_JOB = 100;

/** What a run did, for the log and tests. */
export interface WebhookRunResult {
  readonly delivered: number;
  readonly failed: number;
  readonly outcome: 'idle' | 'retrying' | 'endpoint_inactive' | 'more';
}

const AUTOMATION: CommandCaller['actor'] = { type: 'system', id: 'webhooks', label: 'Outbound webhooks' };

/**
 * Sends the pending deliveries of one (endpoint, resource), oldest first, one at a time: a later one is
 * never sent while an earlier one waits for its retry. Each attempt is first recorded (fenced by the
 * job's lease), then made, then its answer recorded: a 2xx delivers; anything else, or no answer within
 * 10 s, schedules the next retry after `WEBHOOK_RETRY_DELAYS`, or fails the delivery after the last one.
 * A worker killed mid-send leaves the delivery pending: the job runs again and sends it once more, under
 * the same `webhook-id`. An endpoint failing for 5 days without a success is disabled.
 */
export async function deliverPending(deps: WebhookTaskDeps, key: DeliveryQueueKey, run: WebhookRun): Promise<WebhookRunResult> {
  const { db } = deps;
  const delays = deps.config.WEBHOOK_RETRY_DELAYS;
  let delivered = 0;
  let failed = 0;
  for (let i = 0; i < PER_JOB; i++) {
    const endpoint = await db
      .selectFrom('webhook_endpoints')
      .select([
        'id',
        'url',
        'secret',
        'status',
        sql<string | null>`case when previous_secret_expires_at > now() then previous_secret end`.as('previous_secret'),
      ])
      .where('id', '=', key.endpointId)
      .where('org_id', '=', key.orgId)
      .executeTakeFirst();
    if (!endpoint || endpoint.status !== 'active') return { delivered, failed, outcome: 'endpoint_inactive' };
    const delivery = await db
      .selectFrom('webhook_deliveries')
      .select(['id', 'body', 'attempts', 'next_attempt_at', sql<boolean>`next_attempt_at <= now()`.as('due')])
      .where('endpoint_id', '=', key.endpointId)
      .where('org_id', '=', key.orgId)
      .where('resource', '=', key.resource)
      .where('status', '=', 'pending')
      .orderBy('seq')
      .limit(1)
      .executeTakeFirst();
    if (!delivery) return { delivered, failed, outcome: 'idle' };
    if (!delivery.due) {
      await run.requeue(new Date(delivery.next_attempt_at));
      return { delivered, failed, outcome: 'retrying' };
    }

    const lease = run.lease;
    const leaseHeld = lease
      ? sql<boolean>`exists (select 1 from graphile_worker.jobs j where j.id = ${lease.jobId}::bigint and j.locked_by = ${lease.holder})`
      : sql<boolean>`true`;
    const { rows } = await sql<{ id: string }>`
      insert into webhook_attempts (delivery_id, started_at, job_id, holder)
      select ${delivery.id}, now(), ${lease?.jobId ?? null}::bigint, ${lease?.holder ?? null} where ${leaseHeld}
      returning id`.execute(db);
    const attemptId = rows[0]?.id;
    if (!attemptId)
      throw new LeaseLostError(`worker ${lease?.holder ?? '?'} no longer holds job ${lease?.jobId ?? '?'}; not sending ${delivery.id}`);

    const secrets = [endpoint.secret, ...(endpoint.previous_secret ? [endpoint.previous_secret] : [])];
    const headers = signedHeaders(delivery.id, deps.clock(), delivery.body, secrets);
    const result = await postWebhook(endpoint.url, headers, delivery.body, {
      allowPrivate: deps.config.WEBHOOK_ALLOW_PRIVATE,
      ...(run.signal && { signal: run.signal }),
    });
    // Fenced off or shutting down: the outcome is not this worker's to record; the job runs again.
    if (run.signal?.aborted) throw run.signal.reason instanceof Error ? run.signal.reason : new Error('webhook send aborted');

    const ok = result.status !== null && result.status >= 200 && result.status < 300;
    const attemptNumber = delivery.attempts + 1;
    const retryIn = ok ? undefined : delays[attemptNumber - 1];
    const error = ok ? null : (result.error ?? `HTTP ${result.status ?? '?'}`);
    const after = await db.transaction().execute(async (trx) => {
      await trx
        .updateTable('webhook_attempts')
        .set({ duration_ms: result.durationMs, status: result.status, error, response_body: result.body })
        .where('id', '=', attemptId)
        .execute();
      await trx
        .updateTable('webhook_deliveries')
        .set({
          attempts: attemptNumber,
          last_status: result.status,
          last_error: error,
          ...(ok
            ? { status: 'delivered', delivered_at: sql<Date>`now()` }
            : retryIn === undefined
              ? { status: 'failed' }
              : { next_attempt_at: sql<Date>`now() + make_interval(secs => ${retryIn})` }),
        })
        .where('id', '=', delivery.id)
        .execute();
      return trx
        .updateTable('webhook_endpoints')
        .set({
          last_status: result.status,
          last_attempt_at: sql<Date>`now()`,
          failures_in_a_row: ok ? 0 : sql<number>`failures_in_a_row + 1`,
          failing_since: ok ? null : sql<Date>`coalesce(failing_since, now())`,
        })
        .where('id', '=', key.endpointId)
        .returning([
          sql<boolean>`failing_since < now() - ${DISABLE_AFTER}::interval`.as('failing_too_long'),
          sql<Date>`(select next_attempt_at from webhook_deliveries where id = ${delivery.id})`.as('next_attempt_at'),
        ])
        .executeTakeFirstOrThrow();
    });
    // A receiver's failure is the integration's problem, not ours: info, not an error.
    deps.log?.[ok ? 'debug' : 'info'](
      {
        webhookId: delivery.id,
        endpointId: key.endpointId,
        orgId: key.orgId,
        attempt: attemptNumber,
        status: result.status,
        durationMs: result.durationMs,
        ...(error && { error }),
      },
      ok ? 'webhook delivered' : 'webhook attempt failed',
    );
    if (ok) {
      delivered++;
      continue;
    }
    if (after.failing_too_long) {
      deps.log?.warn({ endpointId: key.endpointId, orgId: key.orgId }, 'webhook endpoint disabled: failing for 5 days');
      await disableWebhookEndpoint(
        { ...deps, allowPrivate: deps.config.WEBHOOK_ALLOW_PRIVATE },
        { orgId: key.orgId, actor: AUTOMATION, correlationId: delivery.id },
        key.endpointId,
        `deliveries failed for ${DISABLE_AFTER} without a success (last: ${error ?? ''})`.slice(0, 1000),
      );
      return { delivered, failed, outcome: 'endpoint_inactive' };
    }
    if (retryIn === undefined) {
      failed++;
      continue;
    }
    await run.requeue(new Date(after.next_attempt_at));
    return { delivered, failed, outcome: 'retrying' };
  }
  await run.requeue(new Date(0));
  return { delivered, failed, outcome: 'more' };
}
