import { sql } from 'kysely';
import type { Db } from '../db/kysely.ts';
import { webDb } from './tables.ts';

/**
 * Sign-in throttling, kept in PostgreSQL so it holds across `serve` processes: at most
 * {@link ACCOUNT_LIMIT} failures per account and {@link ADDRESS_LIMIT} per client address within
 * {@link WINDOW_MS}; past that every attempt (even a right password) is refused until the window slides.
 */
export const WINDOW_MS = 15 * 60_000;
export const ACCOUNT_LIMIT = 5;
export const ADDRESS_LIMIT = 30;

const keys = (email: string, address: string) => ({ account: `account:${email.trim().toLowerCase()}`, address: `address:${address}` });

/** Seconds until an attempt is allowed again (0: allowed now). */
export async function throttledFor(db: Db, email: string, address: string, now: Date): Promise<number> {
  const k = keys(email, address);
  const since = new Date(now.getTime() - WINDOW_MS);
  const rows = await webDb(db)
    .selectFrom('login_failures')
    .select(['key', sql<string>`count(*)`.as('n'), sql<Date>`min(at)`.as('first'), sql<Date[]>`array_agg(at order by at desc)`.as('ats')])
    .where('key', 'in', [k.account, k.address])
    .where('at', '>', since)
    .groupBy('key')
    .execute();
  let wait = 0;
  for (const row of rows) {
    const limit = row.key === k.account ? ACCOUNT_LIMIT : ADDRESS_LIMIT;
    if (Number(row.n) < limit) continue;
    // Allowed again once the limit-th most recent failure leaves the window.
    const pivot = new Date(row.ats[limit - 1]!);
    wait = Math.max(wait, Math.ceil((pivot.getTime() + WINDOW_MS - now.getTime()) / 1000));
  }
  return Math.max(wait, 0);
}

/** Records a failed sign-in against the account and the address (and prunes rows past the window). */
export async function recordFailure(db: Db, email: string, address: string, now: Date): Promise<void> {
  const k = keys(email, address);
  const wdb = webDb(db);
  await wdb
    .insertInto('login_failures')
    .values([
      { key: k.account, at: now },
      { key: k.address, at: now },
    ])
    .execute();
  await wdb
    .deleteFrom('login_failures')
    .where('at', '<', new Date(now.getTime() - WINDOW_MS))
    .execute();
}

/** A successful sign-in clears the account's failures (the address keeps its count). */
export async function clearAccountFailures(db: Db, email: string): Promise<void> {
  await webDb(db).deleteFrom('login_failures').where('key', '=', keys(email, '').account).execute();
}
