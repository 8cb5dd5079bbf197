import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { loadLead } from '../../../../commands/leads.ts';
import { bookingEvidence, getBooking, listBookings } from '../../../../queries/bookings.ts';
import { getOrg } from '../../../../queries/orgs.ts';
import { callerOf, depsOf } from '../../../plugins/caller.ts';
import { awaitConsistency, readsOf } from '../../../common/consistency.ts';
import { requireEnabled } from '../../../plugins/planned-actions.ts';
import { authOf } from '../../../plugins/authentication.ts';
import { answerAvailability, availabilityQuery } from '../../private/v1/availability.ts';
import { patchBooking, postBooking } from '../../private/v1/bookings.ts';
import { bookingParams, createBookingBody, listBookingsQuery, patchBookingBody } from '../../private/v1/schemas.ts';
import { problems } from '../../../common/problem.ts';
import { ROLES, requireRole } from '../../../plugins/authorization.ts';

const PREFIX = '/api/internal/v1';
const READ_MODELS = ['bookings'];

/**
 * Bookings for team members (calendar, booking detail, book a visit, reschedule, cancel): the protected
 * API's commands and queries, with the same Idempotency-Key and If-Match handling, under member roles.
 */
export const teamBookingRoutes: FastifyPluginAsyncZod = async (app) => {
  const allowed = requireRole(ROLES.leads);

  app.get('/bookings', { preHandler: allowed, schema: { querystring: listBookingsQuery } }, async (request) => {
    await awaitConsistency(request, READ_MODELS);
    const q = request.query;
    const { db, pool } = readsOf(request);
    const orgId = authOf(request).orgId;
    const [page, org] = await Promise.all([
      listBookings(pool, orgId, {
        from: q.from,
        to: q.to,
        limit: q.limit,
        ...(q.status && { statuses: q.status.split(',') as ('scheduled' | 'canceled')[] }),
        ...(q.cursor && { cursor: q.cursor }),
      }),
      getOrg(db, orgId),
    ]);
    return { ...page, timezone: org?.timezone ?? null };
  });

  app.get('/bookings/:bookingId', { preHandler: allowed, schema: { params: bookingParams } }, async (request, reply) => {
    await awaitConsistency(request, READ_MODELS);
    const { store } = request.server.services;
    const orgId = authOf(request).orgId;
    const booking = await getBooking(readsOf(request).db, orgId, request.params.bookingId);
    if (!booking) throw problems.notFound('booking');
    reply.header('etag', `"${booking.version}"`);
    return { ...booking, evidence: await bookingEvidence(store, orgId, booking.id) };
  });

  app.post('/bookings', { preHandler: allowed, schema: { body: createBookingBody } }, async (request, reply) => {
    // A visit booked from a lead must name one of the org's leads; the lead-booking reactor then moves it to Booked.
    if (request.body.leadId) await loadLead(depsOf(request), callerOf(request).orgId, request.body.leadId);
    return postBooking(request, reply, PREFIX, request.body);
  });

  app.patch('/bookings/:bookingId', { preHandler: allowed, schema: { params: bookingParams, body: patchBookingBody } }, (request, reply) =>
    patchBooking(request, reply, PREFIX, request.params.bookingId, request.body),
  );

  app.get(
    '/availability',
    {
      // Before validation: a disabled action is 404 whatever the query (as on the protected API).
      onRequest: async (request) => {
        await requireEnabled(request, 'availability');
      },
      preHandler: allowed,
      schema: { querystring: availabilityQuery },
    },
    (request) => answerAvailability(request, request.query),
  );
};
