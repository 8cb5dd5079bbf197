import type { Command } from 'commander';
import { readCheckpoint } from '../../projections/checkpoints.ts';
import { PROJECTIONS } from '../../projections/registry.ts';
import { withServices } from '../context.ts';
import { emit, table } from '../output.ts';
import { formatPosition } from '../../eventstore/position.ts';
import { sql } from 'kysely';

export function registerProjectionCommands(program: Command): void {
  const projections = program.command('projections').description('read models built from events');

  projections
    .command('status')
    .description('each projection: checkpoint, head position, lag in events and seconds')
    .option('--json', 'machine output')
    .action(async (opts: { json?: boolean }) => {
      await withServices(async (services) => {
        const head = await services.store.headPosition();
        const rows = await Promise.all(PROJECTIONS.map(async (projection) => {
          const checkpoint = await readCheckpoint(services.db, projection.name);
          const lag = await lagOf(services, checkpoint.position);
          return {
            name: projection.name,
            checkpoint: checkpoint.position ? formatPosition(checkpoint.position) : null,
            head: head ? formatPosition(head) : null,
            lagEvents: lag.events,
            lagSeconds: lag.seconds,
            eventsHandled: checkpoint.eventsHandled,
            updatedAt: checkpoint.updatedAt.toISOString(),
          };
        }));
        if (opts.json) return rows.forEach((r) => emit(true, r, ''));
        emit(false, null, () =>
          table([
            ['PROJECTION', 'CHECKPOINT', 'HEAD', 'LAG EVENTS', 'LAG SECONDS', 'HANDLED'],
            ...rows.map((r) => [r.name, r.checkpoint ?? '-', r.head ?? '-', String(r.lagEvents), r.lagSeconds.toFixed(1), String(r.eventsHandled)]),
          ]),
        );
      });
    });
}

/** Events after a checkpoint and the age of the oldest of them (PostgreSQL store; 0 elsewhere). */
async function lagOf(
  services: { db: import('../../db/kysely.ts').Db; store: { kind: string } },
  position: { commit: bigint; prepare: bigint } | null,
): Promise<{ events: number; seconds: number }> {
  if (services.store.kind !== 'postgres') return { events: 0, seconds: 0 };
  const { rows } = await sql<{ n: string; oldest: Date | null }>`
    select count(*) as n, min(recorded_at) as oldest from es_events
     where (transaction_id, global_position) > (${(position?.commit ?? 0n).toString()}::xid8, ${(position?.prepare ?? 0n).toString()}::bigint)`.execute(services.db);
  const oldest = rows[0]?.oldest;
  return { events: Number(rows[0]?.n ?? 0), seconds: oldest ? Math.max(0, (Date.now() - new Date(oldest).getTime()) / 1000) : 0 };
}
