import type { FastifyInstance } from 'fastify';
import { stripeWebhooks } from './stripe.ts';
import { twilioWebhooks } from './twilio.ts';

/**
 * Provider webhooks (CONTRACT §4), each group in its own encapsulated context with its own body
 * parsing: Twilio form bodies, Stripe's raw bytes (its signature covers them exactly).
 */
export async function webhooks(app: FastifyInstance): Promise<void> {
  await app.register(twilioWebhooks, { prefix: '/twilio' });
  await app.register(stripeWebhooks);
}
