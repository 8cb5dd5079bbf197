import type { Command } from 'commander';
import { migrateToLatest } from '../../db/migrate.ts';
import { withServices } from '../context.ts';
import { emit, JSON_HELP } from '../output.ts';

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply schema migrations (serve does it at start unless --no-migrate)')
    .option('--json', JSON_HELP)
    .action(async (opts: { json?: boolean }) => {
      await withServices(
        async (services) => {
          const applied = await migrateToLatest(services.db, { pool: services.pool });
          emit(!!opts.json, { applied }, applied.length ? `applied ${applied.join(', ')}` : 'database is up to date');
        },
        { migrate: false },
      );
    });
}
