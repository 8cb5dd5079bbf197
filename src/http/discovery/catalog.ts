/**
 * The action model (CONTRACT §6): the one catalog that `GET /api/actions`, the docs page `/docs/actions`,
 * `llms.txt`, the route registry and the MCP tools all read. 6 live protected actions, 4 live internal
 * ones and 2 planned ones, each in the docs page's own words.
 */

/** Where an action lives today. */
export type ActionStatus = 'live_protected' | 'live_internal' | 'planned';

/** What implements an internal action, so a reader can follow it from the model to the code. */
export interface ImplementedBy {
  readonly kind: 'webhook' | 'web_app' | 'internal_api' | 'automation_task';
  /** A route (`POST /webhooks/twilio/voice`), a web app page (`/app/leads/<id>`) or a graphile-worker task name. */
  readonly ref: string;
  readonly note?: string;
}

/** MCP tool annotations, stated truthfully per action. */
export interface ToolHints {
  readonly readOnlyHint: boolean;
  readonly destructiveHint: boolean;
  readonly idempotentHint: boolean;
  /** Whether it reaches outside the service: a booking write texts the customer (confirmation, reminders). */
  readonly openWorldHint: boolean;
}

/** One action of the model. */
export interface Action {
  readonly name: string;
  readonly status: ActionStatus;
  /** A short heading for cards. */
  readonly title: string;
  /** What it does, one sentence. */
  readonly summary: string;
  readonly useWhen: string;
  readonly surface: string;
  readonly result: string;
  readonly permissions: string;
  readonly idempotency: string;
  /** `METHOD /path` of each HTTP route serving it (protected and planned actions). */
  readonly routes?: readonly string[];
  /** Token scopes it needs (protected and planned actions; empty: any valid credential). */
  readonly scopes?: readonly string[];
  /** Internal actions: what implements them. */
  readonly implementedBy?: readonly ImplementedBy[];
  /** Planned actions: how an operator switches one on for an org. */
  readonly enable?: string;
  /** Protected and planned actions: how the MCP tool of this action is annotated. */
  readonly toolAnnotations?: ToolHints;
}

const PRIVATE = '/api/private/v1';
const READ: ToolHints = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };
const KEYED_IDEMPOTENCY =
  'Send an Idempotency-Key (MCP: the required idempotencyKey argument): the same key with the same request replays the first result with Idempotent-Replayed: true; the same key with a different request is 409 idempotency_key_reused and writes nothing. Keys are kept at least 24 hours, per org.';

/** How an operator switches a planned action on for an org (shown in the catalog and in its 404). */
export function howToEnable(action: string): string {
  return `an operator enables it per org: npx callsnare org configure --org <ORG_ID> --enable-action ${action}`;
}

/** The catalog, in the docs page's order: live protected, live internal, planned. */
export const ACTIONS = [
  {
    name: 'health',
    status: 'live_protected',
    title: 'Check a credential',
    summary: 'Tells which credential, org and scopes a token carries.',
    useWhen: 'Before anything else, to check that a token works and which scopes it has.',
    surface: 'Protected API and MCP',
    result: 'The credential (id, label), actorType "integration", the scopes and the org id.',
    permissions: 'Any valid org-scoped token.',
    idempotency: 'Read-only; safe to repeat.',
    routes: [`GET ${PRIVATE}/health`],
    scopes: [],
    toolAnnotations: READ,
  },
  {
    name: 'list_bookings',
    status: 'live_protected',
    title: 'List bookings',
    summary: "Lists the org's bookings whose arrival window starts in a time range, oldest first, a page at a time.",
    useWhen: 'To sync a calendar or dispatch board, or to find a booking by time.',
    surface: 'Protected API and MCP',
    result: 'A page of bookings ordered by window start, and nextCursor for the next page (null at the end).',
    permissions: 'READ_BOOKINGS scope.',
    idempotency: 'Read-only; safe to repeat.',
    routes: [`GET ${PRIVATE}/bookings`],
    scopes: ['READ_BOOKINGS'],
    toolAnnotations: READ,
  },
  {
    name: 'get_booking',
    status: 'live_protected',
    title: 'Get a booking',
    summary: 'Returns one booking with its confirmation and reminder state.',
    useWhen: 'To check a booking before changing it, or to follow its confirmation and reminders.',
    surface: 'Protected API and MCP',
    result: 'The booking, with its version (ETag) for a later If-Match.',
    permissions: "READ_BOOKINGS scope; another org's booking is not found.",
    idempotency: 'Read-only; safe to repeat.',
    routes: [`GET ${PRIVATE}/bookings/:bookingId`],
    scopes: ['READ_BOOKINGS'],
    toolAnnotations: READ,
  },
  {
    name: 'create_booking',
    status: 'live_protected',
    title: 'Create a booking',
    summary: 'Books a visit for a customer in an arrival window; the confirmation and reminders follow automatically.',
    useWhen: 'A customer agreed to a visit (in your CRM, on the phone, or in a chat an agent runs).',
    surface: 'Protected API and MCP',
    result: 'The new booking (201, Location, ETag).',
    permissions: 'WRITE_BOOKINGS scope.',
    idempotency: KEYED_IDEMPOTENCY,
    routes: [`POST ${PRIVATE}/bookings`],
    scopes: ['WRITE_BOOKINGS'],
    toolAnnotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  },
  {
    name: 'reschedule_booking',
    status: 'live_protected',
    title: 'Reschedule a booking',
    summary: 'Moves a scheduled booking to a new arrival window; its reminders move with it.',
    useWhen: 'The customer or the office changed the visit time.',
    surface: 'Protected API and MCP',
    result: 'The booking with its new window and version.',
    permissions: 'WRITE_BOOKINGS scope.',
    idempotency: `${KEYED_IDEMPOTENCY} Optional If-Match guards against a concurrent change (412).`,
    routes: [`PATCH ${PRIVATE}/bookings/:bookingId`],
    scopes: ['WRITE_BOOKINGS'],
    toolAnnotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  },
  {
    name: 'cancel_booking',
    status: 'live_protected',
    title: 'Cancel a booking',
    summary: 'Cancels a booking, keeping its history; pending reminders are dropped.',
    useWhen: 'The visit will not happen.',
    surface: 'Protected API and MCP',
    result: 'The booking with status "canceled", canceledAt and the reason.',
    permissions: 'WRITE_BOOKINGS scope.',
    idempotency: `${KEYED_IDEMPOTENCY} Canceling a canceled booking without a key is 409 booking_state_conflict.`,
    routes: [`PATCH ${PRIVATE}/bookings/:bookingId`],
    scopes: ['WRITE_BOOKINGS'],
    toolAnnotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  },
  {
    name: 'create_or_reuse_lead',
    status: 'live_internal',
    title: 'Create or reuse a lead',
    summary: 'Creates or reuses a lead from a missed call or text, and puts the call or text on its timeline.',
    useWhen: 'Happens by itself when a caller is missed or texts the business number; nothing to call.',
    surface: 'Internal webhook and web-app workflow',
    result: 'One lead per (org, caller) with MissedCallRecorded or InboundTextReceived on its timeline, shown in the inbox.',
    permissions: 'Provider webhooks with a valid Twilio signature; team members see the lead in the web app.',
    idempotency: 'A repeated CallSid and status, or MessageSid, changes nothing; the same caller reuses the open lead.',
    implementedBy: [
      { kind: 'webhook', ref: 'POST /webhooks/twilio/voice', note: 'a missed call' },
      { kind: 'webhook', ref: 'POST /webhooks/twilio/sms', note: 'an inbound text' },
      { kind: 'web_app', ref: '/app/leads', note: 'the inbox where the lead appears' },
    ],
  },
  {
    name: 'move_lead_status',
    status: 'live_internal',
    title: 'Move a lead through its lifecycle',
    summary: 'Moves a lead through its lifecycle: active, booked, won or lost.',
    useWhen: 'A team member qualifies, books, wins or loses a lead.',
    surface: 'Web app only today',
    result: 'The lead with its new status and lifecycle timestamps (activeAt, bookedAt, wonAt, lostAt).',
    permissions: 'Team members with the owner, admin or member role.',
    idempotency: 'Lifecycle timestamps are written idempotently.',
    implementedBy: [
      { kind: 'web_app', ref: '/app/leads/<id>', note: 'the lead page' },
      { kind: 'internal_api', ref: 'POST /api/internal/v1/leads/:id/status', note: "the web app's endpoint" },
    ],
  },
  {
    name: 'send_booking_confirmation',
    status: 'live_internal',
    title: 'Send a booking confirmation',
    summary: 'Sends or schedules a booking confirmation text when a booking is created.',
    useWhen: "Happens by itself after create_booking when the org's confirmations are on.",
    surface: 'Internal booking automation',
    result:
      "ConfirmationSent, ConfirmationSkipped (with the reason) or ConfirmationFailed on the booking; the booking's confirmation.status.",
    permissions: 'No caller: the automation worker acts as the system.',
    idempotency: 'One confirmation per booking: a retried job never sends or records twice.',
    implementedBy: [{ kind: 'automation_task', ref: 'booking-confirmation' }],
  },
  {
    name: 'send_booking_reminders',
    status: 'live_internal',
    title: 'Send booking reminders',
    summary: "Sends or schedules reminders at the org's offsets before the visit, moved on reschedule and dropped on cancel.",
    useWhen: "Happens by itself for every scheduled booking while the org's reminders are on.",
    surface: 'Internal booking automation',
    result: "ReminderSent, ReminderSkipped or ReminderFailed per offset; the booking's reminders[].",
    permissions: 'No caller: the automation worker acts as the system.',
    idempotency: 'One reminder per booking and offset: a retried job never sends or records twice.',
    implementedBy: [{ kind: 'automation_task', ref: 'booking-reminder' }],
  },
  {
    name: 'availability',
    status: 'planned',
    title: 'Find open arrival windows',
    summary: "Offers arrival windows inside the org's business hours that its crews can still take.",
    useWhen: 'Before create_booking, to offer a customer times that fit.',
    surface: 'Planned: protected API, off unless an operator enables it for an org',
    result: 'Days with windows (capacity, booked, remaining), blackouts and guidance.',
    permissions: 'READ_AVAILABILITY scope, once enabled for the org.',
    idempotency: 'Read-only; safe to repeat.',
    routes: [`GET ${PRIVATE}/availability`],
    scopes: ['READ_AVAILABILITY'],
    enable: howToEnable('availability'),
    toolAnnotations: READ,
  },
  {
    name: 'lead_summary',
    status: 'planned',
    title: 'Summarize a lead',
    summary: 'Summarizes a lead: caller, status, last contact, what happened and the next action.',
    useWhen: 'To decide what to do next about a caller.',
    surface: 'Planned: protected API, off unless an operator enables it for an org',
    result: 'The lead summary with a nextAction derived by fixed rules.',
    permissions: 'READ_LEAD_SUMMARY scope, once enabled for the org.',
    idempotency: 'Read-only; safe to repeat.',
    routes: [`GET ${PRIVATE}/leads/:leadId/summary`],
    scopes: ['READ_LEAD_SUMMARY'],
    enable: howToEnable('lead_summary'),
    toolAnnotations: READ,
  },
] as const satisfies readonly Action[];

/** The name of an action of the catalog. */
export type ActionName = (typeof ACTIONS)[number]['name'];

/** The three principles of the action model, as the docs page states them. */
export const PRINCIPLES = [
  {
    title: 'Discover in public, act with a token',
    text: 'Anyone may read this catalog, the OpenAPI document and the agent index. Acting takes an org-scoped token whose scopes decide what it may do; another org’s data is never found.',
  },
  {
    title: 'One action, one command, one audit trail',
    text: 'The protected API and the MCP server run the same commands as the same actor, and every change lands on the event timeline that auditors replay.',
  },
  {
    title: 'Internal stays internal, planned is not callable',
    text: 'Live internal actions run inside the product (webhooks, the web app, the automation) and are described, not exposed. Planned actions are not callable today unless an operator enables one for an org.',
  },
] as const;

/** The section headings of the three groups. */
export const GROUPS: Record<ActionStatus, { readonly heading: string; readonly blurb: string }> = {
  live_protected: {
    heading: 'Live protected',
    blurb: 'Callable today by integrations and agents with an org-scoped token (protected API or MCP).',
  },
  live_internal: {
    heading: 'Live internal',
    blurb: 'Live inside the product: webhooks, the web app and the automation. Not callable by integrations.',
  },
  planned: {
    heading: 'Planned',
    blurb: 'Not callable today: described so integrators can plan; an operator may enable one for an org.',
  },
};

/** The catalog entry of a name; throws for a name the catalog does not know. */
export function actionNamed(name: string): Action {
  const action = (ACTIONS as readonly Action[]).find((a) => a.name === name);
  if (!action) throw new Error(`no action ${name} in the catalog (src/http/discovery/catalog.ts)`);
  return action;
}

/** The actions of one status, in catalog order. */
export function actionsOf(status: ActionStatus): readonly Action[] {
  return (ACTIONS as readonly Action[]).filter((a) => a.status === status);
}

/** Where the discovery documents live (paths; the docs page and llms.txt prefix the base URL). */
export const DISCOVERY_LINKS = {
  catalog: '/api/actions',
  docs: '/docs/actions',
  llms: '/llms.txt',
  apiCatalog: '/.well-known/api-catalog',
  openapi: `${PRIVATE}/openapi.json`,
  internalOpenapi: '/api/internal/v1/openapi.json',
  mcp: '/mcp',
  protectedResource: '/.well-known/oauth-protected-resource',
  api: PRIVATE,
} as const;
