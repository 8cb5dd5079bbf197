import { isIPv6 } from 'node:net';
import { sql } from 'kysely';
import type { Db } from '../db/kysely.ts';

/**
 * Sign-in throttling, kept in PostgreSQL so it holds across `serve` processes, counted per account and per
 * client address within a {@link WINDOW_MS} window. Every attempt is counted by one atomic upsert *before*
 * the password is checked, so parallel guesses cannot all slip under the limit; a successful sign-in gives
 * its count back.
 *
 * Lockout must not be a denial of service: past {@link ACCOUNT_LIMIT} attempts an account is not locked for
 * everyone, only for addresses that failed recently. An address with no failure in the window (its only
 * attempt is this one) still gets its password checked, so the owner signs in while someone else guesses.
 * {@link ACCOUNT_CEILING} bounds what many fresh addresses together may try; past it the account waits for
 * the window whoever asks. An address past {@link ADDRESS_LIMIT} attempts is refused for every account.
 */
export const WINDOW_MS = 15 * 60_000;
export const ACCOUNT_LIMIT = 5;
export const ACCOUNT_CEILING = 100;
export const ADDRESS_LIMIT = 30;

/**
 * The key an address is limited by: an IPv4 address as is, an IPv6 address by its /64 (one subscriber
 * usually holds a whole /64, so per-address limits on IPv6 would be free to dodge).
 */
export function addressKey(address: string): string {
  const plain = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
  if (!isIPv6(plain)) return `address:${plain}`;
  const [head = '', tail = ''] = plain.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = plain.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `address:${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

const accountKey = (email: string) => `account:${email.trim().toLowerCase()}`;

/**
 * Counts one sign-in attempt against the account and the address, atomically, and returns the seconds
 * until an attempt is allowed again (0: this attempt may go on to check the password).
 */
export async function countAttempt(db: Db, email: string, address: string, now: Date): Promise<number> {
  const account = accountKey(email);
  const since = new Date(now.getTime() - WINDOW_MS);
  const { rows } = await sql<{ key: string; attempts: number; window_started_at: Date }>`
    insert into login_attempts as a (key, window_started_at, attempts)
    values (${account}, ${now}, 1), (${addressKey(address)}, ${now}, 1)
    on conflict (key) do update set
      attempts = case when a.window_started_at <= ${since} then 1 else a.attempts + 1 end,
      window_started_at = case when a.window_started_at <= ${since} then ${now} else a.window_started_at end
    returning key, attempts, window_started_at
  `.execute(db);
  const accountRow = rows.find((row) => row.key === account)!;
  const addressRow = rows.find((row) => row.key !== account)!;
  const until = (row: typeof accountRow) =>
    Math.max(1, Math.ceil((new Date(row.window_started_at).getTime() + WINDOW_MS - now.getTime()) / 1000));
  if (addressRow.attempts > ADDRESS_LIMIT) return until(addressRow);
  if (accountRow.attempts > ACCOUNT_CEILING) return until(accountRow);
  // A clean address (this attempt is its only one in the window) is not shut out by others' failures.
  if (accountRow.attempts > ACCOUNT_LIMIT && addressRow.attempts > 1) return until(accountRow);
  return 0;
}

/**
 * A successful sign-in: the account's count is cleared and the address gets this attempt back (only
 * failures should use up an address's allowance).
 */
export async function signInSucceeded(db: Db, email: string, address: string): Promise<void> {
  await sql`
    with cleared as (delete from login_attempts where key = ${accountKey(email)})
    update login_attempts set attempts = greatest(attempts - 1, 0) where key = ${addressKey(address)}
  `.execute(db);
}

/**
 * Counts one hit on each key in a fixed window of `windowMs`, atomically (one upsert in `login_attempts`,
 * so the count holds across processes and parallel hits), and returns the seconds until the first key past
 * its limit allows another (0: every key is within its limit, go on).
 */
export async function countHits(
  db: Db,
  limits: readonly { readonly key: string; readonly limit: number }[],
  windowMs: number,
  now: Date,
): Promise<number> {
  const since = new Date(now.getTime() - windowMs);
  const values = sql.join(limits.map(({ key }) => sql`(${key}, ${now}::timestamptz, 1)`));
  const { rows } = await sql<{ key: string; attempts: number; window_started_at: Date }>`
    insert into login_attempts as a (key, window_started_at, attempts)
    values ${values}
    on conflict (key) do update set
      attempts = case when a.window_started_at <= ${since} then 1 else a.attempts + 1 end,
      window_started_at = case when a.window_started_at <= ${since} then ${now} else a.window_started_at end
    returning key, attempts, window_started_at
  `.execute(db);
  let wait = 0;
  for (const row of rows) {
    if (row.attempts <= limits.find((l) => l.key === row.key)!.limit) continue;
    wait = Math.max(wait, Math.ceil((new Date(row.window_started_at).getTime() + windowMs - now.getTime()) / 1000), 1);
  }
  return wait;
}

/** Invite acceptances one address may attempt per window (each may hash a password). */
export const INVITE_ADDRESS_LIMIT = 10;

/** Counts one invite acceptance from an address, atomically; returns seconds to wait (0: go on). */
export async function countInviteAttempt(db: Db, address: string, now: Date): Promise<number> {
  return countHits(db, [{ key: `invite:${addressKey(address)}`, limit: INVITE_ADDRESS_LIMIT }], WINDOW_MS, now);
}
