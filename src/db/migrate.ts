import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';
import * as m001 from './migrations/001_event_store.ts';
import * as m002 from './migrations/002_projections.ts';
import * as m003 from './migrations/003_read_models.ts';

/** Numbered migrations, applied in name order. Add new ones at the end. */
const migrations: Record<string, Migration> = {
  '001_event_store': m001,
  '002_projections': m002,
  '003_read_models': m003,
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Applies pending migrations; returns the names applied now. Safe to run from several processes at once. */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({ db, provider, migrationTableName: 'schema_migrations', migrationLockTableName: 'schema_migrations_lock' });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
