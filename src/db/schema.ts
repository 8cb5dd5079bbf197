import type { ColumnType, Generated } from 'kysely';

/** Row of `es_events` (the PostgreSQL event store). */
export interface EsEventsTable {
  global_position: Generated<string>;
  transaction_id: Generated<string>;
  stream_id: string;
  stream_revision: string;
  event_id: string;
  event_type: string;
  schema_version: number;
  org_id: string | null;
  data: unknown;
  metadata: unknown;
  hash: string;
  recorded_at: Generated<Date>;
}

/** Row of `es_streams`: last revision and hash per stream. */
export interface EsStreamsTable {
  stream_id: string;
  revision: string;
  last_hash: string;
}

/** Row of `projection_checkpoints`. */
export interface ProjectionCheckpointsTable {
  name: string;
  commit_position: string | null;
  prepare_position: string | null;
  events_handled: ColumnType<string, string | number | undefined, string | number>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
  /** Set the position to the store's head when a process first opens the store (migration 011). */
  seed_at_head: Generated<boolean>;
}

/** Row of `orgs`. */
export interface OrgsTable {
  id: string;
  org_id: Generated<string>;
  name: string;
  timezone: string;
  billing_status: string;
  stripe_customer_id: string | null;
  state: unknown;
  version: number;
  created_at: Date | string;
  updated_at: Date | string;
}

/** Row of `org_phones`: business numbers that provider webhooks are routed by. */
export interface OrgPhonesTable {
  phone: string;
  org_id: string;
}

/** Row of `credentials` (hash only, never the token). */
export interface CredentialsTable {
  id: string;
  org_id: string;
  kind: 'integration' | 'member';
  label: string;
  scopes: string[];
  token_hash: string;
  member_id: string | null;
  role: string | null;
  expires_at: Date | string | null;
  revoked_at: Date | string | null;
  created_at: Date | string;
}

/** Row of `credential_usage`: when a credential was last used (written by requests, not projected). */
export interface CredentialUsageTable {
  credential_id: string;
  last_used_at: Date | string;
}

/** Row of `bookings`; `state` is the API's Booking. */
export interface BookingsTable {
  id: string;
  org_id: string;
  status: string;
  window_start: Date | string;
  window_end: Date | string;
  customer_phone: string;
  lead_id: string | null;
  state: unknown;
  version: number;
  updated_at: Date | string;
}

/** Row of `leads`; `state` is the lead aggregate (the API's Lead plus dedupe bookkeeping). */
export interface LeadsTable {
  id: string;
  org_id: string;
  caller_phone: string;
  generation: number;
  status: string;
  missed_calls: number;
  inbound_texts: number;
  outbound_texts: number;
  bookings: number;
  last_activity_at: Date | string;
  /** The caller's unanswered last contact (see Lead.waitingSince); null when nothing waits. */
  waiting_since: Date | string | null;
  last_inbound_at: Date | string | null;
  /** The member who owns the lead (CONTRACT §10); null: unassigned. */
  assignee_id: string | null;
  state: unknown;
  version: number;
  created_at: Date | string;
  updated_at: Date | string;
}

/** Row of `lead_reads`: how far a member has read a lead (per-member UI state, not an event). */
export interface LeadReadsTable {
  member_id: string;
  lead_id: string;
  org_id: string;
  read_up_to: Date | string;
  updated_at: Generated<Date>;
}

/** Row of `lead_timeline`: one call, text, booking link or status change of a lead. */
export interface LeadTimelineTable {
  lead_id: string;
  revision: number;
  org_id: string;
  event_id: string;
  event_type: string;
  kind: string;
  occurred_at: Date | string;
  actor: unknown;
  summary: string;
  details: unknown;
  message_id: string | null;
}

/** Row of `outbound_messages`: every text the automation sent (one per job key), whatever the adapter. */
export interface OutboundMessagesTable {
  job_key: string;
  /** Null while `sending`. */
  message_id: string | null;
  org_id: string;
  provider: string;
  kind: string;
  to: string;
  from: string | null;
  body: string;
  /** Stream the message is about (`booking-<id>`, `lead-<id>`). */
  subject: string;
  sent_at: Date | string | null;
  created_at: Generated<Date>;
  requests: Generated<number>;
  /** `sending`: intent recorded, outcome not (yet) known; `sent`: the provider accepted it. */
  state: Generated<'sending' | 'sent'>;
  /** The graphile-worker job and pool that recorded the intent (fencing). */
  job_id: string | null;
  holder: string | null;
}

/** Row of `automation_workers`: a graphile-worker pool and the worker process (liveness token) it runs in. */
export interface AutomationWorkersTable {
  pool_id: string;
  token: string;
  pid: number;
  host: string;
  started_at: Generated<Date>;
}

/** Row of `org_phone_claims`: the one org a business number routes to (claimed atomically). */
export interface OrgPhoneClaimsTable {
  phone: string;
  org_id: string;
  /** The org the number was moved away from with --move-phone, until that org recorded the move. */
  moved_from: string | null;
  claimed_at: Generated<Date>;
}

/** A Stripe subscription event kept until its customer is linked to an org. */
export interface PendingStripeEvent {
  readonly eventId: string;
  readonly created: string;
  readonly status: string;
}

/** Row of `stripe_customer_links`: the org a Stripe customer belongs to, and events waiting for the link. */
export interface StripeCustomerLinksTable {
  customer_id: string;
  org_id: string | null;
  pending: ColumnType<PendingStripeEvent[], string | undefined, string>;
  updated_at: Generated<Date>;
}

/** Row of `webhook_endpoints`: an org's outbound webhook endpoint, its secrets and delivery health (migration 019). */
export interface WebhookEndpointsTable {
  id: string;
  org_id: string;
  url: string;
  events: string[];
  description: string | null;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  status: 'active' | 'disabled' | 'removed';
  created_at: Date | string;
  removed_at: Date | string | null;
  disabled_at: Date | string | null;
  last_status: number | null;
  last_attempt_at: Date | string | null;
  failures_in_a_row: Generated<number>;
  failing_since: Date | string | null;
}

/** Row of `webhook_deliveries`: one event for one endpoint (its id is the `webhook-id` header). */
export interface WebhookDeliveriesTable {
  id: string;
  seq: Generated<string>;
  org_id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  resource: string;
  body: string;
  status: Generated<'pending' | 'delivered' | 'failed'>;
  attempts: Generated<number>;
  next_attempt_at: Date | string;
  last_status: number | null;
  last_error: string | null;
  created_at: Generated<Date>;
  delivered_at: Date | string | null;
}

/** Row of `webhook_attempts`: one try of a delivery (status null: no answer; duration null: in flight or cut off). */
export interface WebhookAttemptsTable {
  id: Generated<string>;
  delivery_id: string;
  started_at: Date | string;
  duration_ms: number | null;
  status: number | null;
  error: string | null;
  response_body: string | null;
  job_id: string | null;
  holder: string | null;
}

/** Row of `contact_consent`: the consent of one (org, phone), projected from its consent stream. */
export interface ContactConsentTable {
  org_id: string;
  phone: string;
  status: 'opted_out' | 'opted_in';
  since: Date | string;
  source: string;
}

/** Row of `staff_alert_claims`: the on-call alert that last went out about a lead (migration 024). */
export interface StaffAlertClaimsTable {
  lead_id: string;
  org_id: string;
  trigger_event_id: string;
  claimed_at: Date | string;
}

/** Row of `round_robin_turns`: the member an org's rotation gave the last lead to. */
export interface RoundRobinTurnsTable {
  org_id: string;
  last_member_id: string;
  /** The member's place in the rotation (lowercased email, then id). */
  last_key: string;
  updated_at: Date | string;
}

/** Row of `round_robin_picks`: the member the rotation picked for a lead. */
export interface RoundRobinPicksTable {
  lead_id: string;
  org_id: string;
  member_id: string;
  picked_at: Date | string;
}

/** The database as kysely sees it. */
export interface Database {
  orgs: OrgsTable;
  org_phones: OrgPhonesTable;
  credentials: CredentialsTable;
  credential_usage: CredentialUsageTable;
  bookings: BookingsTable;
  leads: LeadsTable;
  lead_timeline: LeadTimelineTable;
  lead_reads: LeadReadsTable;
  contact_consent: ContactConsentTable;
  es_events: EsEventsTable;
  es_streams: EsStreamsTable;
  projection_checkpoints: ProjectionCheckpointsTable;
  outbound_messages: OutboundMessagesTable;
  automation_workers: AutomationWorkersTable;
  org_phone_claims: OrgPhoneClaimsTable;
  stripe_customer_links: StripeCustomerLinksTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  staff_alert_claims: StaffAlertClaimsTable;
  round_robin_turns: RoundRobinTurnsTable;
  round_robin_picks: RoundRobinPicksTable;
}
