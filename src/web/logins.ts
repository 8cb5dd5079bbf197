import { randomBytes } from 'node:crypto';
import { hashToken } from '../commands/tokens.ts';
import type { Db } from '../db/kysely.ts';
import { webDb } from './tables.ts';

/** How long an invite link works. */
export const INVITE_TTL_MS = 72 * 3600_000;

/** A member's login (no password yet when they were invited). */
export interface MemberLogin {
  readonly memberId: string;
  readonly orgId: string;
  readonly email: string;
  readonly passwordHash: string | null;
}

/** An email already signs in to a different member (logins are per email, across orgs). */
export class LoginTakenError extends Error {
  override name = 'LoginTakenError';
}

const normalEmail = (email: string) => email.trim().toLowerCase();

/** The login of an email, if any. */
export async function findLoginByEmail(db: Db, email: string): Promise<MemberLogin | undefined> {
  const row = await webDb(db).selectFrom('member_logins').selectAll().where('email', '=', normalEmail(email)).executeTakeFirst();
  return row && { memberId: row.member_id, orgId: row.org_id, email: row.email, passwordHash: row.password_hash };
}

/**
 * Creates a member's login, or sets the password of an existing one of the same member.
 * A password change signs the member out everywhere (their sessions are revoked in the same statement batch).
 */
export async function upsertLogin(
  db: Db,
  input: { memberId: string; orgId: string; email: string; passwordHash: string | null },
  now: Date,
): Promise<void> {
  await webDb(db)
    .transaction()
    .execute(async (trx) => {
      const email = normalEmail(input.email);
      const existing = await trx.selectFrom('member_logins').select('member_id').where('email', '=', email).forUpdate().executeTakeFirst();
      if (existing && existing.member_id !== input.memberId) throw new LoginTakenError(`${email} already signs in as another member`);
      await trx
        .insertInto('member_logins')
        .values({
          member_id: input.memberId,
          org_id: input.orgId,
          email,
          password_hash: input.passwordHash,
          password_set_at: input.passwordHash ? now : null,
          created_at: now,
        })
        .onConflict((oc) =>
          oc.column('member_id').doUpdateSet(input.passwordHash ? { password_hash: input.passwordHash, password_set_at: now } : { email }),
        )
        .execute();
      if (input.passwordHash) {
        await trx
          .updateTable('web_sessions')
          .set({ revoked_at: now })
          .where('member_id', '=', input.memberId)
          .where('revoked_at', 'is', null)
          .execute();
      }
    });
}

/** A freshly created invite: the only time its token exists outside the link. */
export interface Invite {
  readonly token: string;
  readonly expiresAt: Date;
}

/** Records an invite for a member and returns its single-use token. */
export async function createInvite(
  db: Db,
  input: { orgId: string; memberId: string; email: string; role: string },
  now: Date,
): Promise<Invite> {
  const token = `csi_${randomBytes(32).toString('base64url')}`;
  const expiresAt = new Date(now.getTime() + INVITE_TTL_MS);
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
  return webDb(db)
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
}

/** The login of a member, if any. */
export async function findLoginById(db: Db, memberId: string): Promise<MemberLogin | undefined> {
  const row = await webDb(db).selectFrom('member_logins').selectAll().where('member_id', '=', memberId).executeTakeFirst();
  return row && { memberId: row.member_id, orgId: row.org_id, email: row.email, passwordHash: row.password_hash };
}
