import type { Services } from './services.ts';
import { leadBookingLink } from './automation/lead-booking-link.ts';
import { processManager } from './automation/process-manager-runner.ts';
import { webhookDeliveries } from './automation/webhook-deliveries.ts';
import { projector } from './projections/projection.ts';
import { PROJECTIONS } from './projections/registry.ts';
import type { Subscriber } from './subscriptions/subscriber.ts';

/**
 * A subscriber and the process part that runs it live: `projector` (`serve`, `project`) or `worker`
 * (`serve`, `worker`, unless `--no-process-manager`; started after the job runners, so the job queue's
 * schema exists before it queues).
 */
export interface RegisteredSubscriber {
  readonly subscriber: Subscriber<Services>;
  readonly runsWith: 'projector' | 'worker';
}

/**
 * Every checkpointed subscriber of the service: what `serve`, `project` and `worker` run, what
 * `projections status` and `/metrics` report. A new projection, reactor or process manager is added here.
 */
export const SUBSCRIBERS: readonly RegisteredSubscriber[] = [
  ...PROJECTIONS.map((projection) => ({ subscriber: projector(projection), runsWith: 'projector' as const })),
  { subscriber: processManager, runsWith: 'worker' },
  // Outbound webhooks: one delivery row per (event, endpoint), queued for the worker's webhook task.
  { subscriber: webhookDeliveries, runsWith: 'worker' },
  // Bookings move their leads to Booked.
  { subscriber: leadBookingLink, runsWith: 'projector' },
];
