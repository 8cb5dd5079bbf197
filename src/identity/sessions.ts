import { randomBytes } from 'node:crypto';
import { hashToken } from './tokens.ts';
import type { Db } from '../db/kysely.ts';
import { announceAccessChanged } from './access-notice.ts';
import { webDb } from './tables.ts';

/** Idle and absolute lifetimes of a web session (README "Team web app"). */
export const SESSION_IDLE_MS = 12 * 3600_000;
export const SESSION_ABSOLUTE_MS = 7 * 24 * 3600_000;
/** last_seen_at is written at most this often (every request would be a write). */
const TOUCH_EVERY_MS = 60_000;

/** The session cookie's name over plain http (development). */
export const SESSION_COOKIE = 'cs_session';

/**
 * The session cookie's name: over https it carries the `__Host-` prefix, so the browser accepts it only
 * with `Secure`, `Path=/` and no `Domain` (a sibling subdomain cannot plant or overwrite it).
 */
export function sessionCookieName(secure: boolean): string {
  return secure ? `__Host-${SESSION_COOKIE}` : SESSION_COOKIE;
}

/** A live session as a request sees it. */
export interface WebSession {
  readonly idHash: string;
  readonly memberId: string;
  readonly orgId: string;
  readonly csrfToken: string;
  readonly expiresAt: Date;
}

/** Starts a session; returns the cookie value (the only place the id exists unhashed) and the CSRF token. */
export async function createSession(db: Db, input: { memberId: string; orgId: string; userAgent?: string; ip?: string }, now: Date) {
  const id = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + SESSION_ABSOLUTE_MS);
  await webDb(db)
    .insertInto('web_sessions')
    .values({
      id_hash: hashToken(id),
      member_id: input.memberId,
      org_id: input.orgId,
      csrf_token: csrfToken,
      created_at: now,
      last_seen_at: now,
      expires_at: expiresAt,
      revoked_at: null,
      user_agent: input.userAgent?.slice(0, 300) ?? null,
      ip: input.ip ?? null,
    })
    .execute();
  return { id, csrfToken, expiresAt };
}

/** The live session of a cookie value: not revoked, not idle too long, not past its absolute expiry. */
export async function findSession(db: Db, id: string, now: Date): Promise<WebSession | undefined> {
  const row = await webDb(db)
    .selectFrom('web_sessions')
    .select(['id_hash', 'member_id', 'org_id', 'csrf_token', 'expires_at', 'last_seen_at'])
    .where('id_hash', '=', hashToken(id))
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .where('last_seen_at', '>', new Date(now.getTime() - SESSION_IDLE_MS))
    .executeTakeFirst();
  if (!row) return undefined;
  if (now.getTime() - row.last_seen_at.getTime() > TOUCH_EVERY_MS) {
    await webDb(db).updateTable('web_sessions').set({ last_seen_at: now }).where('id_hash', '=', row.id_hash).execute();
  }
  return { idHash: row.id_hash, memberId: row.member_id, orgId: row.org_id, csrfToken: row.csrf_token, expiresAt: row.expires_at };
}

/** Ends one session (sign out); open live feeds of it hear at once. */
export async function revokeSession(db: Db, idHash: string, now: Date): Promise<void> {
  const result = await webDb(db)
    .updateTable('web_sessions')
    .set({ revoked_at: now })
    .where('id_hash', '=', idHash)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (result.numUpdatedRows > 0n) await announceAccessChanged(db);
}

/** Ends every session of a member (sign out everywhere); returns how many were open. */
export async function revokeMemberSessions(db: Db, memberId: string, now: Date): Promise<number> {
  const result = await webDb(db)
    .updateTable('web_sessions')
    .set({ revoked_at: now })
    .where('member_id', '=', memberId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (result.numUpdatedRows > 0n) await announceAccessChanged(db);
  return Number(result.numUpdatedRows);
}

/** Ends the session of a cookie value, if it is one (a new sign-in in the same browser drops the old one). */
export async function revokeSessionByCookie(db: Db, id: string, now: Date): Promise<void> {
  await revokeSession(db, hashToken(id), now);
}

/**
 * Whether a session is still live without touching it (the live feed re-checks this every few seconds:
 * sign-out, sign-out everywhere, removal, a password change and expiry all end it in the sessions table).
 */
export async function sessionStillLive(db: Db, idHash: string, now: Date): Promise<boolean> {
  const row = await webDb(db)
    .selectFrom('web_sessions')
    .select('id_hash')
    .where('id_hash', '=', idHash)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .where('last_seen_at', '>', new Date(now.getTime() - SESSION_IDLE_MS))
    .executeTakeFirst();
  return row !== undefined;
}
