import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';

/** pg_xact segment size in transactions: pg_resetwal's -x must start a segment (see its manual). */
const XACT_SEGMENT = 0x100000n;

/** `pg_resetwal -e EPOCH -x XID` values that put the server's next transaction id past `highest`. */
export function resetwalTarget(highest: bigint): { epoch: bigint; xid: bigint } {
  const next = highest + 1n;
  let epoch = next >> 32n;
  let xid = (((next & 0xffffffffn) + XACT_SEGMENT - 1n) / XACT_SEGMENT) * XACT_SEGMENT;
  if (xid > 0xffffffffn) {
    epoch += 1n;
    xid = XACT_SEGMENT;
  }
  if (xid < XACT_SEGMENT) xid = XACT_SEGMENT;
  return { epoch, xid };
}

/**
 * Positions on PostgreSQL are transaction ids (xid8). A dump restored into another cluster keeps the old
 * ids in `es_events` and the checkpoints while the new server counts from its own, lower, ids: every new
 * event would sort before what subscribers have handled, and they would silently stop. Returns the one-line
 * reason to refuse to start (naming the restore procedure), or undefined when the server is ahead of
 * everything stored. Reads only (assigns no transaction id).
 */
export async function positionsAheadOfServer(db: Kysely<Database>): Promise<string | undefined> {
  const { rows } = await sql<{ server: string; events: string | null; checkpoints: string | null }>`
    select pg_snapshot_xmax(pg_current_snapshot())::text as server,
           (select transaction_id::text from es_events order by transaction_id desc limit 1) as events,
           (select max(commit_position)::text from projection_checkpoints) as checkpoints`.execute(db);
  const row = rows[0]!;
  const server = BigInt(row.server);
  const highest = [row.events, row.checkpoints]
    .filter((v): v is string => v !== null)
    .map(BigInt)
    .reduce((a, b) => (a > b ? a : b), 0n);
  if (highest < server) return undefined;
  const { epoch, xid } = resetwalTarget(highest);
  return (
    `stored event positions reach transaction ${highest} but this PostgreSQL server is only at ${server}: ` +
    `a dump restored into another cluster? New events would sort before the stored ones and subscribers would stop. ` +
    `See "Restoring from a dump" in the README: restore into a cluster whose transaction ids are past ${highest} ` +
    `(pg_resetwal -e ${epoch} -x ${xid} on the new cluster while it is empty and stopped, then pg_restore again)`
  );
}
