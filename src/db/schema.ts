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
  last_used_at: Date | string | null;
  created_at: Date | string;
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

/** The database as kysely sees it. */
export interface Database {
  orgs: OrgsTable;
  org_phones: OrgPhonesTable;
  credentials: CredentialsTable;
  bookings: BookingsTable;
  es_events: EsEventsTable;
  es_streams: EsStreamsTable;
  projection_checkpoints: ProjectionCheckpointsTable;
}
