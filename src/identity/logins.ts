import type { Db } from '../db/kysely.ts';
import { announceAccessChanged } from './access-notice.ts';
import { webDb } from './tables.ts';

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

/** Emails are compared trimmed and lower-cased. */
export const normalEmail = (email: string) => email.trim().toLowerCase();

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
      if (existing && existing.member_id !== input.memberId) throw new LoginTakenError('taken');
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
          .updateTable('member_invites')
          .set({ used_at: now })
          .where('member_id', '=', input.memberId)
          .where('used_at', 'is', null)
          .execute();
        await trx
          .updateTable('web_sessions')
          .set({ revoked_at: now })
          .where('member_id', '=', input.memberId)
          .where('revoked_at', 'is', null)
          .execute();
      }
    });
  if (input.passwordHash) await announceAccessChanged(db);
}

/** The login of a member, if any. */
export async function findLoginById(db: Db, memberId: string): Promise<MemberLogin | undefined> {
  const row = await webDb(db).selectFrom('member_logins').selectAll().where('member_id', '=', memberId).executeTakeFirst();
  return row && { memberId: row.member_id, orgId: row.org_id, email: row.email, passwordHash: row.password_hash };
}

/** Removes a member's sign-in (the member left the org; their email may be invited again). */
export async function deleteLogin(db: Db, memberId: string): Promise<void> {
  await webDb(db).deleteFrom('member_logins').where('member_id', '=', memberId).execute();
}

/** Replaces a password hash by a stronger one of the same password (no session ends: the password is unchanged). */
export async function rehashLogin(db: Db, memberId: string, oldHash: string, newHash: string): Promise<void> {
  await webDb(db)
    .updateTable('member_logins')
    .set({ password_hash: newHash })
    .where('member_id', '=', memberId)
    .where('password_hash', '=', oldHash)
    .execute();
}
