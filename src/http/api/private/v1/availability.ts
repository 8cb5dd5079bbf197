import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { computeAvailability } from '../../../../domain/availability.ts';
import { settingsOf } from '../../../../domain/org.ts';
import { instant } from '../../../../domain/values.ts';
import { scheduledWindowsBetween } from '../../../../queries/bookings.ts';
import { authOf } from '../../../plugins/authentication.ts';
import { requireScope } from '../../../plugins/authorization.ts';
import { requireEnabled } from '../../../plugins/planned-actions.ts';

const MAX_RANGE_MS = 31 * 86_400_000;

export const availabilityQuery = z
  .object({
    from: instant,
    to: instant,
    duration: z.coerce.number().int().min(15).max(720).default(120).describe('arrival window length in minutes'),
  })
  .strict()
  .superRefine((q, ctx) => {
    const span = Date.parse(q.to) - Date.parse(q.from);
    if (span <= 0) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
    else if (span > MAX_RANGE_MS) ctx.addIssue({ code: 'custom', path: ['to'], message: 'the range may span at most 31 days' });
  });

export const availabilityResource = z
  .object({
    timezone: z.string(),
    durationMinutes: z.number().int(),
    windows: z.array(
      z.object({ start: z.string(), end: z.string(), capacity: z.number().int(), booked: z.number().int(), remaining: z.number().int() }),
    ),
    blackouts: z.array(z.object({ date: z.string(), reason: z.string().optional() })),
    guidance: z.array(z.string()),
  })
  .meta({ id: 'Availability' });

/** Planned action `availability`: open arrival windows (only for orgs that enabled it). */
export const availabilityRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/availability',
    {
      // Before validation: a disabled action is 404 whatever the query.
      onRequest: async (request) => {
        await requireEnabled(request, 'availability');
      },
      preHandler: requireScope('READ_AVAILABILITY'),
      schema: {
        summary: 'Open arrival windows (planned action; enabled per org)',
        operationId: 'getAvailability',
        querystring: availabilityQuery,
        response: { 200: availabilityResource },
      },
      config: { action: 'availability' },
    },
    (request) => answerAvailability(request, request.query),
  );
};

/** GET /availability's answer for the caller's org (protected and internal APIs); 404 unless the org enabled it. */
export async function answerAvailability(request: FastifyRequest, query: z.infer<typeof availabilityQuery>) {
  const org = await requireEnabled(request, 'availability');
  const { from, to, duration } = query;
  const bookings = await scheduledWindowsBetween(request.server.services.db, authOf(request).orgId, from, to);
  return computeAvailability({
    from,
    to,
    durationMinutes: duration,
    now: request.server.services.clock().toISOString(),
    timezone: org.timezone,
    settings: settingsOf(org),
    bookings,
  });
}
