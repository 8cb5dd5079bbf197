import type { FastifyInstance, FastifyRequest } from 'fastify';
import Stripe from 'stripe';
import { z } from 'zod';
import { applyStripeBilling } from '../../commands/billing.ts';
import { forgetHeld, routeStripeEvent } from '../../commands/stripe-links.ts';
import { orgIdByStripeCustomer } from '../../queries/settings.ts';
import { billingStatus } from '../../domain/events/org.ts';
import { uuid } from '../../domain/values.ts';
import { depsOf } from '../plugins/caller.ts';
import { problems } from '../common/problem.ts';
import { setConsistencyToken } from '../common/consistency.ts';
import { invalidSignature, notConfigured, parsePayload, providerCaller } from './common.ts';

/** Stripe's default, and the contract's, signature tolerance. */
const TOLERANCE_SECONDS = 300;
/** Stripe events (e.g. invoices with many lines) can outgrow the API's 64 KiB body limit. */
const BODY_LIMIT = 1024 * 1024;

const stripeObject = z.looseObject({
  id: z.string().max(255).optional(),
  object: z.string().max(100).optional(),
  customer: z.union([z.string().max(100), z.looseObject({ id: z.string().max(100) }), z.null()]).optional(),
  status: z.string().max(40).nullable().optional(),
  client_reference_id: z.string().max(200).nullable().optional(),
  metadata: z.record(z.string(), z.string()).nullable().optional(),
});

/** The parts of a Stripe event this service reads. */
const stripeEvent = z.looseObject({
  id: z.string().min(1).max(100),
  type: z.string().min(1).max(200),
  created: z.number().int().nonnegative(),
  data: z.looseObject({ object: stripeObject }),
});
type StripeObject = z.output<typeof stripeObject>;

function secretOf(request: FastifyRequest): string {
  const secret = request.server.services.config.STRIPE_WEBHOOK_SECRET;
  if (!secret) {
    request.log.error('Stripe webhook refused: STRIPE_WEBHOOK_SECRET must be set to verify Stripe-Signature');
    throw notConfigured('Stripe webhooks are not configured on this server: start it with STRIPE_WEBHOOK_SECRET set');
  }
  return secret;
}

const signatureOf = (request: FastifyRequest) => {
  const header = request.headers['stripe-signature'];
  return typeof header === 'string' && header.length > 0 ? header : undefined;
};

async function requireSignatureHeader(request: FastifyRequest): Promise<void> {
  secretOf(request);
  if (!signatureOf(request)) throw invalidSignature('Stripe-Signature is missing');
}

/** Verifies `Stripe-Signature` over the raw body with Stripe's SDK (300 s tolerance, our clock) and parses it. */
function verifiedEvent(request: FastifyRequest): unknown {
  const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  try {
    return Stripe.webhooks.constructEvent(
      raw,
      signatureOf(request)!,
      secretOf(request),
      TOLERANCE_SECONDS,
      undefined,
      request.server.services.clock().getTime(),
    );
  } catch (error) {
    if (!(error instanceof Stripe.errors.StripeSignatureVerificationError)) {
      throw problems.validation([{ path: 'body', message: 'must be a JSON Stripe event' }], 'the webhook payload is not JSON');
    }
    // Stripe's error carries the payload and header; log only why.
    request.log.warn({ reason: error.message.split('\n')[0] }, 'Stripe webhook with a wrong signature refused');
    throw invalidSignature('Stripe-Signature does not match this request or is outside the 300 s tolerance');
  }
}

const customerIdOf = (object: StripeObject) => (typeof object.customer === 'string' ? object.customer : (object.customer?.id ?? undefined));

/** `/webhooks/stripe`: raw JSON body, signed; subscription events set the org's billing status. */
export async function stripeWebhooks(app: FastifyInstance): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  app.addHook('onRequest', requireSignatureHeader);

  app.post('/stripe', { bodyLimit: BODY_LIMIT, schema: { hide: true } }, async (request, reply) => {
    const event = parsePayload(stripeEvent, verifiedEvent(request));
    const object = event.data.object;
    const customerId = customerIdOf(object);
    let status: z.output<typeof billingStatus> | undefined;
    if (event.type.startsWith('customer.subscription.')) {
      const parsed = billingStatus.safeParse(event.type === 'customer.subscription.deleted' ? 'canceled' : object.status);
      if (!parsed.success) return { received: true, ignored: 'unknown_subscription_status' };
      status = parsed.data;
    } else if (event.type !== 'checkout.session.completed') {
      return { received: true, ignored: 'event_type_not_used' };
    }
    if (!status && !customerId) return { received: true, ignored: 'no_customer' };
    const hint = object.metadata?.orgId ?? object.metadata?.callsnare_org_id ?? object.client_reference_id ?? undefined;
    const created = new Date(event.created * 1000).toISOString();
    const legacy = customerId ? await orgIdByStripeCustomer(request.server.services.db, customerId) : undefined;
    const route = await routeStripeEvent(request.server.services, {
      ...(customerId && { customerId }),
      ...(hint && uuid.safeParse(hint).success && { hintOrgId: hint }),
      ...(legacy && { legacyOrgId: legacy }),
      ...(status && { hold: { eventId: event.id, created, status } }),
    });
    if ('held' in route) {
      // Kept on the customer's row: applied to the org as soon as a checkout links the customer.
      request.log.info({ stripeEventId: event.id, customerId }, 'Stripe event for a customer not linked yet; held until the link');
      return { received: true, result: 'held_until_customer_linked' };
    }
    if ('unknown' in route) {
      request.log.warn({ stripeEventId: event.id, customerId }, 'Stripe event for a customer no org is linked to; ignored');
      return { received: true, ignored: 'unknown_customer' };
    }
    const deps = depsOf(request);
    // Events that arrived before the link, oldest first (an older one never undoes a newer one).
    const held = [...route.pending].filter((p) => p.eventId !== event.id).sort((a, b) => a.created.localeCompare(b.created));
    let position = null;
    for (const earlier of held) {
      ({ position } = await applyStripeBilling(deps, providerCaller(request, route.orgId, 'stripe', earlier.eventId), {
        eventId: earlier.eventId,
        created: earlier.created,
        ...(customerId && { customerId }),
        status: billingStatus.parse(earlier.status),
      }));
    }
    const outcome = await applyStripeBilling(deps, providerCaller(request, route.orgId, 'stripe', event.id), {
      eventId: event.id,
      created,
      ...(customerId && { customerId }),
      ...(status && { status }),
    });
    if (customerId)
      await forgetHeld(
        request.server.services.db,
        customerId,
        route.pending.map((p) => p.eventId),
      );
    setConsistencyToken(reply, outcome.position ?? position);
    return { received: true, result: outcome.result };
  });
}
