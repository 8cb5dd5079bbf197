import { randomBytes } from 'node:crypto';
import { hashToken } from './tokens.ts';
import type { Db } from '../db/kysely.ts';
import { normalEmail } from './logins.ts';
import { announceAccessChanged } from './access-notice.ts';
import { webDb, type WebDb } from './tables.ts';

/** How long an invite link works. */
export const INVITE_TTL_MS = 72 * 3600_000;

/** A freshly created invite: the only time its token exists outside the link. */
export interface Invite {
  readonly token: string;
  readonly expiresAt: Date;
}

/** Records an invite for a member and returns its single-use token. */
export async function createInvite(
  db: Db,
  input: { orgId: string; memberId: string; email: string; role: string; ttlMs?: number },
  now: Date,
): Promise<Invite> {
  const token = `csi_${randomBytes(32).toString('base64url')}`;
  const expiresAt = new Date(now.getTime() + (input.ttlMs ?? INVITE_TTL_MS));
  // A newer link ends every other open link of the person (an old one in a mailbox is no key).
  await endOpenInvites(webDb(db), input.memberId, now);
  await webDb(db)
    .insertInto('member_invites')
    .values({
      token_hash: hashToken(token),
      org_id: input.orgId,
      member_id: input.memberId,
      email: normalEmail(input.email),
      role: input.role,
      expires_at: expiresAt,
      used_at: null,
      created_at: now,
    })
    .execute();
  return { token, expiresAt };
}

/** An open invite (unused, unexpired) by its token, without using it. */
export async function findOpenInvite(db: Db, token: string, now: Date) {
  return webDb(db)
    .selectFrom('member_invites')
    .select(['org_id', 'member_id', 'email', 'role', 'expires_at'])
    .where('token_hash', '=', hashToken(token))
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
}

/**
 * Uses an invite and sets the member's password, atomically: the invite is marked used by the same
 * statement that checks it is open, so two tabs racing on one link set one password.
 * Returns the member, or undefined when the link is unknown, used or expired.
 */
export async function acceptInvite(
  db: Db,
  token: string,
  passwordHash: string,
  now: Date,
): Promise<{ memberId: string; orgId: string; email: string } | undefined> {
  const accepted = await webDb(db)
    .transaction()
    .execute(async (trx) => {
      const invite = await trx
        .updateTable('member_invites')
        .set({ used_at: now })
        .where('token_hash', '=', hashToken(token))
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .returning(['org_id', 'member_id', 'email'])
        .executeTakeFirst();
      if (!invite) return undefined;
      await endOpenInvites(trx, invite.member_id, now);
      await trx
        .updateTable('member_logins')
        .set({ password_hash: passwordHash, password_set_at: now })
        .where('member_id', '=', invite.member_id)
        .execute();
      await trx
        .updateTable('web_sessions')
        .set({ revoked_at: now })
        .where('member_id', '=', invite.member_id)
        .where('revoked_at', 'is', null)
        .execute();
      return { memberId: invite.member_id, orgId: invite.org_id, email: invite.email };
    });
  if (accepted) await announceAccessChanged(db);
  return accepted;
}

/** Ends every open (unused, unexpired) link of a member; returns how many were open. */
export async function endOpenInvites(db: WebDb, memberId: string, now: Date): Promise<number> {
  const result = await db
    .updateTable('member_invites')
    .set({ used_at: now })
    .where('member_id', '=', memberId)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
