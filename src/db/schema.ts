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

/** The database as kysely sees it. */
export interface Database {
  es_events: EsEventsTable;
  es_streams: EsStreamsTable;
  projection_checkpoints: ProjectionCheckpointsTable;
}
