import type { FastifyRequest } from 'fastify';
import { type ZodType, z } from 'zod';
import type { CommandCaller } from '../../commands/context.ts';
import { settingsOf } from '../../domain/org.ts';
import { getOrg } from '../../queries/orgs.ts';
import { callerOf } from '../plugins/caller.ts';
import { type Action, type ActionName, actionNamed } from '../discovery/catalog.ts';
import { authOf } from '../plugins/authentication.ts';
import { parseIdempotencyKey } from '../plugins/idempotency.ts';
import { answerAvailability, availabilityQuery, availabilityResource } from '../api/private/v1/availability.ts';
import { PREFIX, changeBookingFor, createBookingFor, getBookingFor, listBookingsFor, parseIfMatch } from '../api/private/v1/bookings.ts';
import { leadSummaryFor, leadSummaryParams, leadSummaryResource } from '../api/private/v1/lead-summary.ts';
import {
  bookingList,
  bookingParams,
  bookingResource,
  createBookingBody,
  healthResource,
  listBookingsQuery,
  patchBookingBody,
} from '../api/private/v1/schemas.ts';
import { serializerCompiler } from '../common/serialization.ts';

/** The `idempotencyKey` argument of write tools: the Idempotency-Key header's rules (1–255 printable ASCII, quoted or bare). */
const idempotencyKey = z
  .string()
  .min(1)
  .max(257)
  .describe(
    'Required. Same semantics as the HTTP Idempotency-Key header: the same key with the same arguments returns the first result without writing again; the same key with other arguments is an error and writes nothing. 1-255 printable ASCII characters; keys are kept at least 24 hours, per org.',
  );
const ifMatch = z
  .number()
  .int()
  .positive()
  .optional()
  .describe('Optional: the booking version you read (its ETag); a different current version is an error.');

const [rescheduleBody, cancelBody] = patchBookingBody.options;

/** One MCP tool: a catalog action, its arguments (the HTTP API's zod schemas), its result schema and what it runs. */
interface Tool {
  readonly name: ActionName;
  readonly input: ZodType;
  readonly output: ZodType;
  /** Runs the action as `caller`: the same functions the HTTP routes call. */
  run(request: FastifyRequest, args: never, caller: CommandCaller): Promise<unknown>;
}

const tool = <I extends ZodType>(
  name: ActionName,
  input: I,
  output: ZodType,
  run: (request: FastifyRequest, args: z.infer<I>, caller: CommandCaller) => Promise<unknown>,
): Tool => ({ name, input, output, run });

/** The MCP tools: the live protected actions and the planned ones (listed only where an org enabled them). */
export const TOOLS: readonly Tool[] = [
  tool('health', z.object({}).strict(), healthResource, async (request) => {
    const auth = authOf(request);
    return {
      credential: { id: auth.credentialId, label: auth.label },
      actorType: 'integration' as const,
      scopes: [...auth.scopes],
      orgId: auth.orgId,
    };
  }),
  tool('list_bookings', listBookingsQuery, bookingList, (request, args) => listBookingsFor(request, args)),
  tool('get_booking', bookingParams, bookingResource, (request, args) => getBookingFor(request, args.bookingId)),
  tool('create_booking', createBookingBody.extend({ idempotencyKey }), bookingResource, async (request, args, caller) => {
    const { idempotencyKey: raw, ...body } = args;
    const key = parseIdempotencyKey(raw);
    return (await createBookingFor(request, PREFIX, body, key, caller)).booking;
  }),
  tool(
    'reschedule_booking',
    rescheduleBody.extend({ bookingId: bookingParams.shape.bookingId, idempotencyKey, ifMatch }),
    bookingResource,
    async (request, args, caller) => {
      const { bookingId, idempotencyKey: raw, ifMatch: version, ...body } = args;
      const options = { key: parseIdempotencyKey(raw), ifMatch: version === undefined ? undefined : parseIfMatch(String(version)) };
      return (await changeBookingFor(request, PREFIX, bookingId, body, options, caller)).booking;
    },
  ),
  tool(
    'cancel_booking',
    cancelBody.omit({ status: true }).extend({ bookingId: bookingParams.shape.bookingId, idempotencyKey, ifMatch }),
    bookingResource,
    async (request, args, caller) => {
      const { bookingId, idempotencyKey: raw, ifMatch: version, ...rest } = args;
      // The request the HTTP API would have received, so one key means the same thing on both surfaces.
      const body = { status: 'canceled' as const, ...rest };
      const options = { key: parseIdempotencyKey(raw), ifMatch: version === undefined ? undefined : parseIfMatch(String(version)) };
      return (await changeBookingFor(request, PREFIX, bookingId, body, options, caller)).booking;
    },
  ),
  tool('availability', availabilityQuery, availabilityResource, (request, args) => answerAvailability(request, args)),
  tool('lead_summary', leadSummaryParams, leadSummaryResource, (request, args) => leadSummaryFor(request, args.leadId)),
];

/** A tool and whether the request's token may call it (else: the scope it lacks). */
export interface ToolAccess {
  readonly tool: Tool;
  readonly action: Action;
  readonly missingScope: string | null;
}

/**
 * The tools that exist for this request's org (the live protected ones, plus a planned one only where an
 * operator enabled it), each with the scope the token lacks for it, if any.
 */
export async function toolsFor(request: FastifyRequest): Promise<ToolAccess[]> {
  const auth = authOf(request);
  const planned = TOOLS.some((t) => actionNamed(t.name).status === 'planned')
    ? settingsOf((await getOrg(request.server.services.db, auth.orgId))!).enabledActions
    : [];
  return TOOLS.flatMap((t) => {
    const action = actionNamed(t.name);
    if (action.status === 'planned' && !(planned as readonly string[]).includes(action.name)) return [];
    const missingScope = (action.scopes ?? []).find((s) => !auth.scopes.includes(s)) ?? null;
    return [{ tool: t, action, missingScope }];
  });
}

/** A zod schema as an MCP tool schema: a JSON Schema object at the root, no `$schema`. */
export function toolSchema(schema: ZodType, io: 'input' | 'output'): { type: 'object'; [key: string]: unknown } {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  const { $schema: _dialect, ...schemaOnly } = json;
  const ref = typeof json.$ref === 'string' ? /^#\/\$defs\/(.+)$/.exec(json.$ref) : null;
  if (ref) {
    // A schema with a meta id (Booking) comes out as a reference: MCP wants the object itself at the root.
    const { [ref[1]!]: root, ...defs } = json.$defs as Record<string, Record<string, unknown>>;
    return { ...root, ...(Object.keys(defs).length > 0 && { $defs: defs }), type: 'object' };
  }
  return { ...schemaOnly, type: 'object' };
}

const serializers = new Map<ZodType, (value: unknown) => string>();

/** The JSON the HTTP API would send for `value` under the route's response schema (the same serializer). */
export function asHttpJson(schema: ZodType, value: unknown): Record<string, unknown> {
  let serialize = serializers.get(schema);
  if (!serialize) serializers.set(schema, (serialize = serializerCompiler({ schema, method: 'GET', url: '/', httpStatus: '200' })));
  return JSON.parse(serialize(value)) as Record<string, unknown>;
}

/** The caller of an MCP call: the token's actor, the request id as correlation, `via: "mcp"` in every event. */
export function mcpCallerOf(request: FastifyRequest): CommandCaller {
  return { ...callerOf(request), via: 'mcp' };
}
