import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';
import type pg from 'pg';
import * as m001 from './migrations/001_event_store.ts';
import * as m002 from './migrations/002_projections.ts';
import * as m003 from './migrations/003_read_models.ts';
import * as m004 from './migrations/004_leads.ts';
import * as m005 from './migrations/005_automation.ts';
import * as m006 from './migrations/006_inbox.ts';
import * as m008 from './migrations/008_member_logins.ts';
import * as m009 from './migrations/009_web_sessions.ts';
import * as m010 from './migrations/010_idempotency_keys.ts';
import * as m011 from './migrations/011_claims_and_seeds.ts';
import * as m012 from './migrations/012_send_intents.ts';
import * as m014 from './migrations/014_append_batch.ts';
import * as m015 from './migrations/015_append_new_stream.ts';
import * as m016 from './migrations/016_apply_job_intents.ts';
import * as m017 from './migrations/017_contact_consent.ts';
import * as m018 from './migrations/018_login_attempts.ts';
import * as m019 from './migrations/019_webhooks.ts';
import * as m020 from './migrations/020_speed_to_lead.ts';
import * as m024 from './migrations/024_alerts_and_rotation.ts';
import * as m025 from './migrations/025_texts_to_a_number.ts';

/** Numbered migrations, applied in name order. Add new ones at the end. */
const migrations: Record<string, Migration> = {
  '001_event_store': m001,
  '002_projections': m002,
  '003_read_models': m003,
  '004_leads': m004,
  '005_automation': m005,
  '006_inbox': m006,
  '008_member_logins': m008,
  '009_web_sessions': m009,
  '010_idempotency_keys': m010,
  '011_claims_and_seeds': m011,
  '012_send_intents': m012,
  '014_append_batch': m014,
  '015_append_new_stream': m015,
  '016_apply_job_intents': m016,
  '017_contact_consent': m017,
  '018_login_attempts': m018,
  '019_webhooks': m019,
  '020_speed_to_lead': m020,
  '024_alerts_and_rotation': m024,
  '025_texts_to_a_number': m025,
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/**
 * Applies pending migrations; returns the names applied now. Safe to run from several processes at once.
 * Given the pool, also migrates graphile-worker's job queue schema (see {@link migrateJobQueue}).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the Migrator runs on any database type (tests pass their own).
export async function migrateToLatest(db: Kysely<any>, options: { pool?: pg.Pool } = {}): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: 'schema_migrations',
    migrationLockTableName: 'schema_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${error instanceof Error ? error.message : JSON.stringify(error)}`);
  }
  if (options.pool) await migrateJobQueue(options.pool);
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * Creates or upgrades graphile-worker's own schema (`graphile_worker`) with graphile-worker's migrations.
 * Idempotent and safe to run concurrently; worker start runs it too.
 */
export async function migrateJobQueue(pool: pg.Pool): Promise<void> {
  guardCheckedOutClients(pool);
  // Imported here: graphile-worker is heavy to load and one-shot CLI commands never need it.
  const { Logger, runMigrations } = await import('graphile-worker');
  // graphile-worker logs each migration it runs; ours are reported by `migrateToLatest`'s caller.
  await runMigrations({ pgPool: pool, logger: new Logger(() => () => {}) });
}

/**
 * A checked-out client whose connection drops emits 'error'; without a listener that would crash the
 * process (pg raises the error on the client's next query anyway). graphile-worker insists on this.
 */
function guardCheckedOutClients(pool: pg.Pool): void {
  if (pool.listenerCount('connect') > 0) return;
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
}
