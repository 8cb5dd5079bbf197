import { NotFoundError } from '../domain/errors.ts';
import type { BillingStatus } from '../domain/events/org.ts';
import { stripeEventIds } from '../domain/ids.ts';
import { type Org, type OrgEvent, type OrgState, decide, evolve, orgStream } from '../domain/org.ts';
import { type Position, WrongExpectedRevisionError } from '../eventstore/port.ts';
import type { CommandCaller, CommandDeps } from './context.ts';
import { ConcurrencyConflictError } from './errors.ts';
import { loadStream, metadataFor } from './execute.ts';

const MAX_ATTEMPTS = 10;

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
  for (let attempt = 0; ; attempt++) {
    const loaded = await loadStream<OrgState, OrgEvent>(deps.store, orgStream(orgId), evolve, null);
    const org = loaded.state;
    if (!org) throw new NotFoundError(`org ${orgId} not found`);
    const now = deps.clock();
    const at = now.toISOString();
    const changes = loaded.events.filter((e) => e.type === 'OrgBillingStatusChanged');
    if (loaded.events.some((e) => ids.has(e.id)) || changes.some((e) => e.data.stripeEventId === input.eventId)) {
      return { org, position: null, result: 'duplicate' };
    }
    const stale = changes.some((e) => e.data.stripeEventCreated !== undefined && e.data.stripeEventCreated > input.created);
    let events: OrgEvent[] = [];
    if (input.status && !stale) {
      events = decide(
        {
          type: 'ChangeBillingStatus',
          now: at,
          data: { orgId, status: input.status, stripeEventId: input.eventId, ...(input.customerId && { stripeCustomerId: input.customerId }) },
        },
        org,
      ).map((e) => (e.type === 'OrgBillingStatusChanged' ? { ...e, data: { ...e.data, stripeEventCreated: input.created } } : e));
    }
    if (!events.length && input.customerId) {
      events = decide({ type: 'LinkStripeCustomer', now: at, data: { orgId, stripeCustomerId: input.customerId } }, org);
    }
    if (!events.length) return { org, position: null, result: input.status && stale ? 'stale' : 'unchanged' };
    const metadata = metadataFor(caller, now);
    const eventIds = stripeEventIds(orgId, input.eventId, events.length);
    try {
      const appended = await deps.store.append(
        orgStream(orgId),
        events.map((event, i) => ({ id: eventIds[i]!, type: event.type, data: event.data, metadata })),
        { expectedRevision: loaded.revision },
      );
      const state = events.reduce<OrgState>((s, e) => evolve(s, { ...e, occurredAt: at }), org)!;
      // A concurrent delivery of the same event appended these very ids first: this one wrote nothing.
      return { org: state, position: appended.position, result: appended.duplicate ? 'duplicate' : 'changed' };
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
      if (attempt >= MAX_ATTEMPTS) throw new ConcurrencyConflictError(`org ${orgId} kept changing; try again`);
    }
  }
}
