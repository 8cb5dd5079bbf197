import { z } from 'zod';
import { customer, service } from '../../../../domain/events/booking.ts';
import { instant, timeZone } from '../../../../domain/values.ts';

const MAX_RANGE_MS = 93 * 24 * 60 * 60 * 1000;

/** The arrival window of a request (UTC instants; zone offsets accepted and normalised). */
export const windowInput = z.object({ start: instant, end: instant }).strict();

/** POST /bookings body. Unknown fields are refused. */
export const createBookingBody = z
  .object({
    customer,
    window: windowInput,
    timezone: timeZone.optional(),
    service: service.optional(),
    notes: z.string().max(5000).optional(),
    leadId: z.uuid().optional(),
    externalRef: z.string().min(1).max(200).optional(),
  })
  .strict();

/** PATCH /bookings/:id body: a reschedule or a cancel, never both. */
export const patchBookingBody = z.union(
  [
    z.object({ window: windowInput, reason: z.string().max(1000).optional() }).strict(),
    z.object({ status: z.literal('canceled'), reason: z.string().max(1000).optional() }).strict(),
  ],
  {
    error: (issue) =>
      issue.input && typeof issue.input === 'object' && !Object.keys(issue.input).length
        ? 'nothing to change: send window (to reschedule) or status "canceled" (to cancel), each with an optional reason'
        : undefined,
  },
);

export const bookingParams = z.object({ bookingId: z.uuid() }).strict();

/** GET /bookings query. */
export const listBookingsQuery = z
  .object({
    from: instant,
    to: instant,
    status: z
      .string()
      .regex(/^(scheduled|canceled)(,(scheduled|canceled))*$/, 'must be scheduled, canceled or both, comma-separated')
      .optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().min(1).max(500).optional(),
  })
  .strict()
  .superRefine((q, ctx) => {
    const span = Date.parse(q.to) - Date.parse(q.from);
    if (span <= 0) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
    else if (span > MAX_RANGE_MS) ctx.addIssue({ code: 'custom', path: ['to'], message: 'the range may span at most 93 days' });
  });

const isoString = z.string().describe('ISO-8601 UTC instant');
const reminderStatus = z.enum(['scheduled', 'sent', 'canceled', 'skipped', 'failed']);

/** A booking as the API returns it (CONTRACT §3). */
export const bookingResource = z
  .object({
    id: z.uuid(),
    orgId: z.uuid(),
    status: z.enum(['scheduled', 'canceled']),
    window: z.object({ start: isoString, end: isoString }),
    timezone: z.string(),
    customer: z.object({
      name: z.string(),
      phone: z.string(),
      email: z.string().optional(),
      address: z
        .object({ line1: z.string(), line2: z.string().optional(), city: z.string(), region: z.string(), postalCode: z.string() })
        .optional(),
    }),
    service: z.object({ type: z.string(), summary: z.string().optional() }).optional(),
    notes: z.string().optional(),
    leadId: z.string().optional(),
    externalRef: z.string().optional(),
    source: z.object({ actorType: z.enum(['integration', 'team_member', 'system']), actorId: z.string(), label: z.string() }),
    confirmation: z.object({ status: z.enum(['pending', 'sent', 'skipped', 'failed']), sentAt: isoString.optional() }),
    reminders: z.array(
      z.object({ offsetMinutes: z.number().int(), dueAt: isoString, status: reminderStatus, sentAt: isoString.optional() }),
    ),
    canceledAt: isoString.optional(),
    cancelReason: z.string().optional(),
    createdAt: isoString,
    updatedAt: isoString,
    version: z.number().int().positive(),
  })
  .meta({ id: 'Booking' });

export const bookingList = z.object({ data: z.array(bookingResource), nextCursor: z.string().nullable() });

/** RFC 9457 problem document: every error response of the OpenAPI document refers to it (see responses.ts). */
export const problemResource = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string(),
    requestId: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Problem' });

export const healthResource = z.object({
  credential: z.object({ id: z.uuid(), label: z.string() }),
  actorType: z.literal('integration'),
  scopes: z.array(z.string()),
  orgId: z.uuid(),
});
