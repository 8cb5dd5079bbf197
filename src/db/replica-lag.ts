import type pg from 'pg';
import { isConnectionFailure, type Replica } from './read-pool.ts';

/** How far one streaming replica trails the primary, as `/metrics` shows it. */
export interface ReplicaLag {
  readonly name: string;
  /** False when the replica could not be asked (down, unreachable, or skipped after a failure). */
  readonly up: boolean;
  /** WAL bytes the primary has written that the replica has not replayed yet; null when not up. */
  readonly bytes: number | null;
  /**
   * Age of the newest transaction the replica replayed while it still has received WAL to replay; 0 when it
   * has replayed all it received (an idle primary is not lag); null when not up.
   */
  readonly seconds: number | null;
}

/** An LSN (`16/B374D848`) as a byte offset. */
function lsnBytes(lsn: string): bigint {
  const [high, low] = lsn.split('/');
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
}

/**
 * Lag of each replica: the primary's WAL position is read first, then each replica's replay position
 * (so a replica never looks ahead of the primary). A replica that fails the read is reported down.
 */
export async function replicaLags(primary: pg.Pool, replicas: readonly Replica[]): Promise<ReplicaLag[]> {
  const { rows } = await primary.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn');
  const head = lsnBytes(rows[0]!.lsn);
  return Promise.all(
    replicas.map(async (replica): Promise<ReplicaLag> => {
      const down = { name: replica.name, up: false, bytes: null, seconds: null };
      if (replica.down) return down;
      try {
        const { rows: states } = await replica.pool.query<{ replayed: string | null; seconds: number | null }>(
          `select pg_last_wal_replay_lsn()::text as replayed,
                  case when pg_last_wal_receive_lsn() is null or pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() then 0
                       else extract(epoch from now() - pg_last_xact_replay_timestamp())::float8 end as seconds`,
        );
        const { replayed, seconds } = states[0]!;
        // Not in recovery (promoted, or the primary itself): nothing to replay.
        const bytes = replayed === null ? 0n : head - lsnBytes(replayed);
        return { name: replica.name, up: true, bytes: Number(bytes > 0n ? bytes : 0n), seconds: Math.max(0, seconds ?? 0) };
      } catch (error) {
        if (isConnectionFailure(error)) replica.markFailed(error);
        return down;
      }
    }),
  );
}
