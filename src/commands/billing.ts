import { NotFoundError } from '../domain/errors.ts';
import type { BillingStatus } from '../domain/events/org.ts';
import { stripeEventIds } from '../domain/ids.ts';
import { type Org, type OrgEvent, type OrgState, decide, evolve, orgStream } from '../domain/org.ts';
import type { Position } from '../eventstore/port.ts';
import type { CommandCaller, CommandDeps } from './context.ts';
import { execute } from './execute.ts';

/** Conflicts a Stripe write retries before it answers 409 (and Stripe redelivers later). */
const BILLING_RETRIES = 10;

/** What a Stripe event says about an org's billing. */
export interface StripeBillingInput {
  /** Stripe `event.id` (`evt_...`): the dedupe key. */
  readonly eventId: string;
  /** Stripe `event.created` as a UTC instant. */
  readonly created: string;
  readonly customerId?: string;
  /** The subscription's status, when the event carries one. */
  readonly status?: BillingStatus;
}

/** Result of {@link applyStripeBilling}. */
export interface BillingOutcome {
  readonly org: Org;
  readonly position: Position | null;
  /** `duplicate`: this Stripe event was already applied; `stale`: a newer one already set the status. */
  readonly result: 'changed' | 'unchanged' | 'duplicate' | 'stale';
}

/**
 * Applies a (signature-checked) Stripe event to an org: links its customer id and records
 * `OrgBillingStatusChanged` when the status differs. Deterministic event ids make redeliveries and
 * concurrent duplicates append nothing; an event older than the last applied status change is stale.
 */
export async function applyStripeBilling(deps: CommandDeps, caller: CommandCaller, input: StripeBillingInput): Promise<BillingOutcome> {
  const orgId = caller.orgId;
  const ids = new Set(stripeEventIds(orgId, input.eventId, 2));
  const result = await execute<OrgState, OrgEvent, BillingOutcome>(deps, caller, {
    streamId: orgStream(orgId),
    evolve,
    initial: null,
    retries: BILLING_RETRIES,
    decide: (loaded, now) => {
      const org = loaded.state;
      if (!org) throw new NotFoundError(`org ${orgId} not found`);
      const at = now.toISOString();
      const changes = loaded.events.filter((e) => e.type === 'OrgBillingStatusChanged');
      if (loaded.events.some((e) => ids.has(e.id)) || changes.some((e) => e.data.stripeEventId === input.eventId)) {
        return { done: { org, position: null, result: 'duplicate' } };
      }
      const stale = changes.some((e) => e.data.stripeEventCreated !== undefined && e.data.stripeEventCreated > input.created);
      let events: OrgEvent[] = [];
      if (input.status && !stale) {
        events = decide(
          {
            type: 'ChangeBillingStatus',
            now: at,
            data: {
              orgId,
              status: input.status,
              stripeEventId: input.eventId,
              ...(input.customerId && { stripeCustomerId: input.customerId }),
            },
          },
          org,
        ).map((e) => (e.type === 'OrgBillingStatusChanged' ? { ...e, data: { ...e.data, stripeEventCreated: input.created } } : e));
      }
      if (!events.length && input.customerId) {
        events = decide({ type: 'LinkStripeCustomer', now: at, data: { orgId, stripeCustomerId: input.customerId } }, org);
      }
      if (!events.length) return { done: { org, position: null, result: input.status && stale ? 'stale' : 'unchanged' } };
      return { append: events, eventIds: stripeEventIds(orgId, input.eventId, events.length) };
    },
  });
  if (result.kind === 'done') return result.result;
  // A concurrent delivery of the same event appended these very ids first: this one wrote nothing.
  return { org: result.state!, position: result.position, result: result.duplicate ? 'duplicate' : 'changed' };
}
