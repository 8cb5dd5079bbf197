import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.ts';

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

/** An endpoint as admins see it (never its secret), with its delivery health. */
export interface WebhookEndpointView {
  readonly id: string;
  readonly url: string;
  readonly events: string[];
  readonly description: string | null;
  readonly status: 'active' | 'disabled';
  readonly createdAt: string;
  readonly disabledAt: string | null;
  readonly health: {
    /** HTTP status of the last attempt (null: none yet, or no answer). */
    readonly lastStatus: number | null;
    readonly lastAttemptAt: string | null;
    readonly failuresInARow: number;
    readonly failingSince: string | null;
    /** When the earliest waiting retry is due. */
    readonly nextRetryAt: string | null;
    readonly pending: number;
  };
}

/** The org's endpoints (removed ones left out), oldest first. */
export async function listWebhookEndpoints(db: Kysely<Database>, orgId: string): Promise<WebhookEndpointView[]> {
  const rows = await db
    .selectFrom('webhook_endpoints as e')
    .select([
      'e.id',
      'e.url',
      'e.events',
      'e.description',
      'e.status',
      'e.created_at',
      'e.disabled_at',
      'e.last_status',
      'e.last_attempt_at',
      'e.failures_in_a_row',
      'e.failing_since',
      sql<Date | null>`(select min(d.next_attempt_at) from webhook_deliveries d where d.endpoint_id = e.id and d.status = 'pending' and d.attempts > 0)`.as(
        'next_retry_at',
      ),
      sql<string>`(select count(*) from webhook_deliveries d where d.endpoint_id = e.id and d.status = 'pending')`.as('pending'),
    ])
    .where('e.org_id', '=', orgId)
    .where('e.status', '<>', 'removed')
    .orderBy('e.created_at')
    .orderBy('e.id')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    url: r.url,
    events: r.events,
    description: r.description,
    status: r.status === 'disabled' ? 'disabled' : 'active',
    createdAt: iso(r.created_at)!,
    disabledAt: iso(r.disabled_at),
    health: {
      lastStatus: r.last_status,
      lastAttemptAt: iso(r.last_attempt_at),
      failuresInARow: r.failures_in_a_row,
      failingSince: iso(r.failing_since),
      nextRetryAt: iso(r.next_retry_at),
      pending: Number(r.pending),
    },
  }));
}

/** One delivery and its attempts, as the delivery log shows it. */
export interface WebhookDeliveryView {
  readonly id: string;
  readonly endpointId: string;
  readonly eventId: string;
  readonly type: string;
  readonly resource: string;
  readonly status: 'pending' | 'delivered' | 'failed';
  readonly attempts: {
    readonly startedAt: string;
    readonly durationMs: number | null;
    readonly status: number | null;
    readonly error: string | null;
    readonly responseBody: string | null;
  }[];
  readonly nextAttemptAt: string | null;
  readonly createdAt: string;
  readonly deliveredAt: string | null;
}

/** The latest deliveries of an endpoint of the org (newest first), each with its attempts; null: no such endpoint in the org. */
export async function listWebhookDeliveries(
  db: Kysely<Database>,
  orgId: string,
  endpointId: string,
  options: { limit?: number } = {},
): Promise<WebhookDeliveryView[] | null> {
  const endpoint = await db
    .selectFrom('webhook_endpoints')
    .select('id')
    .where('org_id', '=', orgId)
    .where('id', '=', endpointId)
    .where('status', '<>', 'removed')
    .executeTakeFirst();
  if (!endpoint) return null;
  const deliveries = await db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('endpoint_id', '=', endpointId)
    .orderBy('seq', 'desc')
    .limit(options.limit ?? 50)
    .execute();
  const attempts = deliveries.length
    ? await db
        .selectFrom('webhook_attempts')
        .selectAll()
        .where(
          'delivery_id',
          'in',
          deliveries.map((d) => d.id),
        )
        .orderBy('id')
        .execute()
    : [];
  return deliveries.map((d) => ({
    id: d.id,
    endpointId: d.endpoint_id,
    eventId: d.event_id,
    type: d.event_type,
    resource: d.resource,
    status: d.status,
    attempts: attempts
      .filter((a) => a.delivery_id === d.id)
      .map((a) => ({
        startedAt: iso(a.started_at)!,
        durationMs: a.duration_ms,
        status: a.status,
        error: a.error,
        responseBody: a.response_body,
      })),
    nextAttemptAt: d.status === 'pending' ? iso(d.next_attempt_at) : null,
    createdAt: iso(d.created_at)!,
    deliveredAt: iso(d.delivered_at),
  }));
}
