import { sql } from 'kysely';
import type { Db } from '../db/kysely.ts';

/** How long an ended session or link is kept after it ended (for support questions), then deleted. */
export const ENDED_KEPT_MS = 24 * 3600_000;
/** How long throttling windows (15 minutes at most) are kept after they started. */
const WINDOWS_KEPT_MS = 24 * 3600_000;

/** Rows one cleanup removed, per table. */
export interface IdentityPruned {
  readonly sessions: number;
  readonly invites: number;
  readonly attempts: number;
}

/**
 * Deletes what no longer lets anyone in and is past use (issue 21 item 14): sessions revoked, expired or
 * idle out more than {@link ENDED_KEPT_MS} ago, invite links used or expired that long ago, and throttling
 * windows of yesterday. Each is one statement on its own, so a cleanup never holds locks a sign-in needs
 * for long; running it twice or in two processes at once deletes each row once.
 */
export async function pruneIdentity(db: Db, now: Date, idleMs: number): Promise<IdentityPruned> {
  const ended = new Date(now.getTime() - ENDED_KEPT_MS);
  const sessions = await sql`
    delete from web_sessions
     where revoked_at < ${ended} or expires_at < ${ended} or last_seen_at < ${new Date(ended.getTime() - idleMs)}
  `.execute(db);
  const invites = await sql`delete from member_invites where used_at < ${ended} or expires_at < ${ended}`.execute(db);
  const windows = new Date(now.getTime() - WINDOWS_KEPT_MS);
  const attempts = await sql`delete from login_attempts where window_started_at < ${windows}`.execute(db);
  // The table migration 018 replaced: nothing writes it any more.
  await sql`delete from login_failures where at < ${windows}`.execute(db);
  return {
    sessions: Number(sessions.numAffectedRows ?? 0n),
    invites: Number(invites.numAffectedRows ?? 0n),
    attempts: Number(attempts.numAffectedRows ?? 0n),
  };
}
