import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { type BookingChange, type BookingOutcome, changeBooking, createBooking } from '../../../../commands/bookings.ts';
import type { CommandCaller } from '../../../../commands/context.ts';
import { requestHash } from '../../../../domain/ids.ts';
import { getBooking, listBookings } from '../../../../queries/bookings.ts';
import { callerOf, depsOf } from '../../../plugins/caller.ts';
import { awaitConsistency, readsOf, setConsistencyToken } from '../../../common/consistency.ts';
import { parseIdempotencyKey } from '../../../plugins/idempotency.ts';
import { authOf } from '../../../plugins/authentication.ts';
import { requireScope } from '../../../plugins/authorization.ts';
import { problems } from '../../../common/problem.ts';
import { bookingList, bookingParams, bookingResource, createBookingBody, listBookingsQuery, patchBookingBody } from './schemas.ts';

export const PREFIX = '/api/private/v1';
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
      config: { action: 'list_bookings' },
      schema: {
        summary: 'List bookings by window start',
        operationId: 'listBookings',
        querystring: listBookingsQuery,
        response: { 200: bookingList },
      },
    },
    (request) => listBookingsFor(request, request.query),
  );

  app.get(
    '/bookings/:bookingId',
    {
      preHandler: read,
      config: { action: 'get_booking' },
      schema: { summary: 'Get a booking', operationId: 'getBooking', params: bookingParams, response: { 200: bookingResource } },
    },
    async (request, reply) => {
      const booking = await getBookingFor(request, request.params.bookingId);
      reply.header('etag', `"${booking.version}"`);
      return booking;
    },
  );

  app.post(
    '/bookings',
    {
      preHandler: write,
      config: { action: 'create_booking' },
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
      config: { action: ['reschedule_booking', 'cancel_booking'] },
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

/** A page of the caller's org's bookings (GET /bookings). */
export async function listBookingsFor(request: FastifyRequest, q: z.infer<typeof listBookingsQuery>) {
  await awaitConsistency(request, READ_MODELS);
  return listBookings(readsOf(request).pool, authOf(request).orgId, {
    from: q.from,
    to: q.to,
    limit: q.limit,
    ...(q.status && { statuses: q.status.split(',') as ('scheduled' | 'canceled')[] }),
    ...(q.cursor && { cursor: q.cursor }),
  });
}

/** One of the caller's org's bookings (404 for another org's or an absent one). */
export async function getBookingFor(request: FastifyRequest, bookingId: string) {
  await awaitConsistency(request, READ_MODELS);
  const booking = await getBooking(readsOf(request).db, authOf(request).orgId, bookingId);
  if (!booking) throw problems.notFound('booking');
  return booking;
}

/**
 * Creates a booking as the request's caller (or `caller`, e.g. the MCP surface's), with an optional
 * idempotency key: `prefix` is the protected or internal API's path prefix, part of the request's
 * fingerprint, so the same key and body replay the same booking whichever surface sent them.
 */
export async function createBookingFor(
  request: FastifyRequest,
  prefix: string,
  body: z.infer<typeof createBookingBody>,
  key: string | undefined,
  caller: CommandCaller = callerOf(request),
): Promise<BookingOutcome> {
  return withKey(request, key, () =>
    createBooking(depsOf(request), caller, body, key ? { key, requestHash: requestHash('POST', `${prefix}/bookings`, body) } : undefined),
  );
}

/** Reschedules or cancels a booking (the PATCH body's two shapes) as {@link createBookingFor} creates one. */
export async function changeBookingFor(
  request: FastifyRequest,
  prefix: string,
  bookingId: string,
  body: z.infer<typeof patchBookingBody>,
  options: { key?: string | undefined; ifMatch?: number | undefined },
  caller: CommandCaller = callerOf(request),
): Promise<BookingOutcome> {
  const { key, ifMatch } = options;
  const change: BookingChange =
    'status' in body
      ? { kind: 'cancel', ...(body.reason !== undefined && { reason: body.reason }) }
      : { kind: 'reschedule', window: body.window, ...(body.reason !== undefined && { reason: body.reason }) };
  return withKey(request, key, () =>
    changeBooking(depsOf(request), caller, bookingId, change, {
      ...(ifMatch !== undefined && { ifMatch }),
      ...(key && { idempotency: { key, requestHash: requestHash('PATCH', `${prefix}/bookings/${bookingId}`, body) } }),
    }),
  );
}

/**
 * POST /bookings (with Idempotency-Key), for the protected API and the internal one; `prefix` is the API's
 * path prefix, part of the request's fingerprint and of the Location header.
 */
export async function postBooking(request: FastifyRequest, reply: FastifyReply, prefix: string, body: z.infer<typeof createBookingBody>) {
  const outcome = await createBookingFor(request, prefix, body, parseIdempotencyKey(request.headers['idempotency-key']));
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
  const outcome = await changeBookingFor(request, prefix, bookingId, body, { key, ifMatch });
  return sendOutcome(reply, outcome, 200);
}
