import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.ts';
import { NotFoundError } from '../domain/errors.ts';
import type { WebhookEventType } from '../domain/events/org.ts';
import { webhookEndpointEventId } from '../domain/ids.ts';
import { type OrgEvent, orgStream } from '../domain/org.ts';
import { type WebhookEndpointCommand, type WebhookEndpointsState, decide, evolve } from '../domain/webhook-endpoints.ts';
import { newWebhookSecret, secretFingerprint } from './webhook-secrets.ts';
import type { Position } from '../eventstore/port.ts';
import type { CommandCaller, CommandDeps } from './context.ts';
import { execute } from './execute.ts';
import { parseWebhookUrl, resolveWebhookHost } from './webhook-url.ts';

/** What endpoint commands need: the store and clock, the database holding the secrets, the address policy. */
export interface WebhookEndpointDeps extends CommandDeps {
  readonly db: Kysely<Database>;
  /** WEBHOOK_ALLOW_PRIVATE. */
  readonly allowPrivate: boolean;
}

/** A registered endpoint as its creator (or a rotation) sees it once: with the secret. */
export interface CreatedEndpoint {
  readonly id: string;
  readonly url: string;
  readonly events: WebhookEventType[];
  readonly description: string | null;
  readonly secret: string;
  readonly position: Position | null;
}

/** Decides `command` on the org stream and appends its event under a deterministic id (a retry records nothing twice). */
async function record(
  deps: CommandDeps,
  caller: CommandCaller,
  command: (state: WebhookEndpointsState) => { command: WebhookEndpointCommand; change: string },
) {
  const result = await execute<WebhookEndpointsState, OrgEvent>(deps, caller, {
    streamId: orgStream(caller.orgId),
    evolve,
    initial: null,
    decide: (loaded) => {
      const { command: decided, change } = command(loaded.state);
      const append = decide(decided, loaded.state);
      return { append, eventIds: append.map((_, i) => webhookEndpointEventId(decided.data.endpointId, `${change}:${i}`)) };
    },
  });
  if (result.kind !== 'appended') throw new Error('unexpected result');
  return result;
}

/** The endpoint row of this org (not removed), or 404. */
async function endpointOf(db: Kysely<Database>, orgId: string, endpointId: string) {
  const row = await db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('id', '=', endpointId)
    .where('status', '<>', 'removed')
    .executeTakeFirst();
  if (!row) throw new NotFoundError('webhook endpoint not found');
  return row;
}

/**
 * Registers an endpoint for the caller's org: the URL must be http(s) and resolve to public addresses
 * (unless `allowPrivate`); a new secret is made and returned (once). The row holding the secret is
 * written first and the audit event after (a failed append takes the row back), so an endpoint that
 * receives deliveries always has its `WebhookEndpointAdded` on the org stream, with the secret's
 * fingerprint only.
 */
export async function addWebhookEndpoint(
  deps: WebhookEndpointDeps,
  caller: CommandCaller,
  input: { url: string; events: WebhookEventType[]; description?: string | undefined },
): Promise<CreatedEndpoint> {
  const url = parseWebhookUrl(input.url);
  await resolveWebhookHost(url, deps.allowPrivate);
  const id = randomUUID();
  const secret = newWebhookSecret();
  const events = [...new Set(input.events)];
  const now = deps.clock();
  await deps.db
    .insertInto('webhook_endpoints')
    .values({
      id,
      org_id: caller.orgId,
      url: url.href,
      events,
      description: input.description ?? null,
      secret,
      created_at: now,
      status: 'active',
    })
    .execute();
  try {
    const result = await record(deps, caller, () => ({
      change: 'added',
      command: {
        type: 'AddWebhookEndpoint',
        now: now.toISOString(),
        data: {
          orgId: caller.orgId,
          endpointId: id,
          url: url.href,
          events,
          ...(input.description && { description: input.description }),
          secretFingerprint: secretFingerprint(secret),
        },
      },
    }));
    return { id, url: url.href, events, description: input.description ?? null, secret, position: result.position };
  } catch (error) {
    await deps.db.deleteFrom('webhook_endpoints').where('id', '=', id).execute();
    throw error;
  }
}

/** Removes an endpoint of the caller's org (404 for another org's or a removed one); its pending deliveries end as failed. */
export async function removeWebhookEndpoint(
  deps: WebhookEndpointDeps,
  caller: CommandCaller,
  endpointId: string,
): Promise<Position | null> {
  await endpointOf(deps.db, caller.orgId, endpointId);
  const now = deps.clock();
  const result = await record(deps, caller, () => ({
    change: 'removed',
    command: { type: 'RemoveWebhookEndpoint', now: now.toISOString(), data: { orgId: caller.orgId, endpointId } },
  }));
  await deps.db.transaction().execute(async (trx) => {
    await trx
      .updateTable('webhook_endpoints')
      .set({ status: 'removed', removed_at: now })
      .where('id', '=', endpointId)
      .where('org_id', '=', caller.orgId)
      .execute();
    await trx
      .updateTable('webhook_deliveries')
      .set({ status: 'failed', last_error: 'endpoint removed' })
      .where('endpoint_id', '=', endpointId)
      .where('status', '=', 'pending')
      .execute();
  });
  return result.position;
}

/**
 * Gives the endpoint a new secret (returned once). The previous one keeps signing beside it for 24 hours
 * (`webhook-signature` then carries both), so receivers can switch without losing a delivery.
 */
export async function rotateWebhookSecret(
  deps: WebhookEndpointDeps,
  caller: CommandCaller,
  endpointId: string,
): Promise<{ id: string; secret: string; previousValidUntil: string }> {
  const row = await endpointOf(deps.db, caller.orgId, endpointId);
  const secret = newWebhookSecret();
  const now = deps.clock();
  const result = await record(deps, caller, (state) => ({
    change: `rotated:${state?.endpoints[endpointId]?.rotations ?? 0}`,
    command: {
      type: 'RotateWebhookSecret',
      now: now.toISOString(),
      data: { orgId: caller.orgId, endpointId, secretFingerprint: secretFingerprint(secret) },
    },
  }));
  const rotated = result.events.find((e) => e.type === 'WebhookSecretRotated');
  const previousValidUntil = rotated?.type === 'WebhookSecretRotated' ? rotated.data.previousValidUntil : now.toISOString();
  await deps.db
    .updateTable('webhook_endpoints')
    .set({ secret, previous_secret: row.secret, previous_secret_expires_at: new Date(previousValidUntil) })
    .where('id', '=', endpointId)
    .where('org_id', '=', caller.orgId)
    .execute();
  return { id: endpointId, secret, previousValidUntil };
}

/** Stops deliveries to an endpoint that keeps failing (recorded with the caller, usually the automation). */
export async function disableWebhookEndpoint(
  deps: WebhookEndpointDeps,
  caller: CommandCaller,
  endpointId: string,
  reason: string,
): Promise<void> {
  const now = deps.clock();
  await record(deps, caller, () => ({
    change: 'disabled',
    command: { type: 'DisableWebhookEndpoint', now: now.toISOString(), data: { orgId: caller.orgId, endpointId, reason } },
  }));
  await deps.db
    .updateTable('webhook_endpoints')
    .set({ status: 'disabled', disabled_at: now })
    .where('id', '=', endpointId)
    .where('org_id', '=', caller.orgId)
    .where('status', '=', 'active')
    .execute();
}

/** graphile-worker task that sends the deliveries of one (endpoint, resource). */
export const WEBHOOK_TASK = 'webhook-delivery';

/** A (endpoint, resource) whose oldest pending delivery should be sent. */
export interface DeliveryQueueKey {
  readonly orgId: string;
  readonly endpointId: string;
  readonly resource: string;
}

/**
 * Queues a `webhook-delivery` job per (endpoint, resource), in the caller's transaction, through
 * graphile-worker's SQL `add_job`. The job key and the named queue are both the pair: a job already
 * waiting (for a retry's time) keeps its time (`preserve_run_at`), so a later delivery never overtakes
 * an earlier one that is retrying, and the queue runs one job of the pair at a time.
 */
export async function queueDeliveryJobs(q: Kysely<Database>, keys: readonly DeliveryQueueKey[]): Promise<void> {
  if (keys.length === 0) return;
  await sql`
    select graphile_worker.add_job(
      ${WEBHOOK_TASK},
      json_build_object('orgId', k.o, 'endpointId', k.e, 'resource', k.r),
      queue_name => 'webhook:' || k.e || ':' || k.r,
      max_attempts => 25,
      job_key => 'webhook:' || k.e || ':' || k.r,
      job_key_mode => 'preserve_run_at'
    )
    from jsonb_to_recordset(${JSON.stringify(keys.map((k) => ({ o: k.orgId, e: k.endpointId, r: k.resource })))}::jsonb) as k(o uuid, e uuid, r text)`.execute(
    q,
  );
}

/**
 * Sends again the deliveries of an endpoint of the caller's org from one delivery on (that one and every
 * later one), or those created since a time: each goes back to pending with its `webhook-id`, and is
 * sent in order per resource. Returns how many.
 */
export async function replayDeliveries(
  db: Kysely<Database>,
  orgId: string,
  endpointId: string,
  from: { deliveryId: string } | { since: Date },
): Promise<number> {
  await endpointOf(db, orgId, endpointId);
  return db.transaction().execute(async (trx) => {
    let seq: string | undefined;
    if ('deliveryId' in from) {
      const start = await trx
        .selectFrom('webhook_deliveries')
        .select('seq')
        .where('id', '=', from.deliveryId)
        .where('endpoint_id', '=', endpointId)
        .where('org_id', '=', orgId)
        .executeTakeFirst();
      if (!start) throw new NotFoundError('webhook delivery not found');
      seq = start.seq;
    }
    let update = trx
      .updateTable('webhook_deliveries')
      .set({ status: 'pending', attempts: 0, next_attempt_at: sql<Date>`now()`, delivered_at: null })
      .where('endpoint_id', '=', endpointId)
      .where('org_id', '=', orgId);
    update = seq !== undefined ? update.where('seq', '>=', seq) : update.where('created_at', '>=', (from as { since: Date }).since);
    const replayed = await update.returning('resource').execute();
    await queueDeliveryJobs(
      trx,
      [...new Set(replayed.map((r) => r.resource))].map((resource) => ({ orgId, endpointId, resource })),
    );
    return replayed.length;
  });
}
