import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { type BookingChange, type BookingOutcome, changeBooking, createBooking } from '../../../commands/bookings.ts';
import { requestHash } from '../../../domain/ids.ts';
import { getBooking, listBookings } from '../../../queries/bookings.ts';
import { callerOf, depsOf } from '../../caller.ts';
import { awaitConsistency, setConsistencyToken } from '../../consistency.ts';
import { parseIdempotencyKey } from '../../plugins/idempotency.ts';
import { authOf, requireScope } from '../../plugins/auth.ts';
import { problems } from '../../problem.ts';
import { bookingList, bookingParams, bookingResource, createBookingBody, listBookingsQuery, patchBookingBody } from './schemas.ts';

const PREFIX = '/api/private/v1';
const READ_MODELS = ['bookings'];

/** Parses If-Match (a version ETag such as "3"; `*` or absent: no precondition). */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(header);
  if (!match) {
    throw problems.invalidHeader('If-Match', 'must be a version ETag such as "3"');
  }
  return Number(match[1]);
}

/** Sends a booking write: Consistency-Token, ETag, Idempotent-Replayed, the booking. */
function sendOutcome(reply: FastifyReply, outcome: BookingOutcome, status: number) {
  setConsistencyToken(reply, outcome.position);
  reply.header('etag', `"${outcome.booking.version}"`);
  if (outcome.replayed) reply.header('idempotent-replayed', 'true');
  return reply.code(status).send(outcome.booking);
}

/** Runs a keyed write one at a time per (org, key) in this process. */
function withKey<T>(request: FastifyRequest, key: string | undefined, fn: () => Promise<T>): Promise<T> {
  return key ? request.server.inFlightKeys.run(`${authOf(request).orgId}\n${key}`, fn) : fn();
}

/** Bookings: list, get, create, reschedule, cancel. */
export const bookingRoutes: FastifyPluginAsyncZod = async (app) => {
  const read = requireScope('READ_BOOKINGS');
  const write = requireScope('WRITE_BOOKINGS');

  app.get(
    '/bookings',
    {
      preHandler: read,
      config: { action: { name: 'list_bookings', status: 'live_protected', permissions: ['READ_BOOKINGS'], idempotency: 'safe' } },
      schema: {
        summary: 'List bookings by window start',
        operationId: 'listBookings',
        querystring: listBookingsQuery,
        response: { 200: bookingList },
      },
    },
    async (request) => {
      await awaitConsistency(request, READ_MODELS);
      const q = request.query;
      return listBookings(request.server.services.pool, authOf(request).orgId, {
        from: q.from,
        to: q.to,
        limit: q.limit,
        ...(q.status && { statuses: q.status.split(',') as ('scheduled' | 'canceled')[] }),
        ...(q.cursor && { cursor: q.cursor }),
      });
    },
  );

  app.get(
    '/bookings/:bookingId',
    {
      preHandler: read,
      config: { action: { name: 'get_booking', status: 'live_protected', permissions: ['READ_BOOKINGS'], idempotency: 'safe' } },
      schema: { summary: 'Get a booking', operationId: 'getBooking', params: bookingParams, response: { 200: bookingResource } },
    },
    async (request, reply) => {
      await awaitConsistency(request, READ_MODELS);
      const booking = await getBooking(request.server.services.db, authOf(request).orgId, request.params.bookingId);
      if (!booking) throw problems.notFound('booking');
      reply.header('etag', `"${booking.version}"`);
      return booking;
    },
  );

  app.post(
    '/bookings',
    {
      preHandler: write,
      config: {
        action: { name: 'create_booking', status: 'live_protected', permissions: ['WRITE_BOOKINGS'], idempotency: 'idempotency_key' },
      },
      schema: {
        summary: 'Create a booking',
        operationId: 'createBooking',
        body: createBookingBody,
        response: { 201: bookingResource },
      },
    },
    (request, reply) => postBooking(request, reply, PREFIX, request.body),
  );

  app.patch(
    '/bookings/:bookingId',
    {
      preHandler: write,
      config: {
        action: [
          { name: 'reschedule_booking', status: 'live_protected', permissions: ['WRITE_BOOKINGS'], idempotency: 'idempotency_key' },
          { name: 'cancel_booking', status: 'live_protected', permissions: ['WRITE_BOOKINGS'], idempotency: 'idempotency_key' },
        ],
      },
      schema: {
        summary: 'Reschedule or cancel a booking',
        operationId: 'updateBooking',
        params: bookingParams,
        body: patchBookingBody,
        response: { 200: bookingResource },
      },
    },
    (request, reply) => patchBooking(request, reply, PREFIX, request.params.bookingId, request.body),
  );
};

/**
 * POST /bookings (with Idempotency-Key), for the protected API and the internal one; `prefix` is the API's
 * path prefix, part of the request's fingerprint and of the Location header.
 */
export async function postBooking(request: FastifyRequest, reply: FastifyReply, prefix: string, body: z.infer<typeof createBookingBody>) {
  const key = parseIdempotencyKey(request.headers['idempotency-key']);
  const outcome = await withKey(request, key, () =>
    createBooking(
      depsOf(request),
      callerOf(request),
      body,
      key ? { key, requestHash: requestHash('POST', `${prefix}/bookings`, body) } : undefined,
    ),
  );
  reply.header('location', `${prefix}/bookings/${outcome.booking.id}`);
  return sendOutcome(reply, outcome, 201);
}

/**
 * PATCH /bookings/:bookingId (reschedule or cancel, with If-Match and Idempotency-Key), for the protected
 * API and the internal one; `prefix` is the API's path prefix, part of the request's fingerprint.
 */
export async function patchBooking(
  request: FastifyRequest,
  reply: FastifyReply,
  prefix: string,
  bookingId: string,
  body: z.infer<typeof patchBookingBody>,
) {
  const key = parseIdempotencyKey(request.headers['idempotency-key']);
  const ifMatch = parseIfMatch(request.headers['if-match']);
  const change: BookingChange =
    'status' in body
      ? { kind: 'cancel', ...(body.reason !== undefined && { reason: body.reason }) }
      : { kind: 'reschedule', window: body.window, ...(body.reason !== undefined && { reason: body.reason }) };
  const outcome = await withKey(request, key, () =>
    changeBooking(depsOf(request), callerOf(request), bookingId, change, {
      ...(ifMatch !== undefined && { ifMatch }),
      ...(key && { idempotency: { key, requestHash: requestHash('PATCH', `${prefix}/bookings/${bookingId}`, body) } }),
    }),
  );
  return sendOutcome(reply, outcome, 200);
}
