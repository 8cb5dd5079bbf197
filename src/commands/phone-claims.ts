import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { CommandDeps } from './context.ts';
import { findOrg } from './org-reads.ts';

/** How long a claim of an org that does not exist is respected (its org create may still be running). */
const STALE_AFTER = '10 minutes';

/** A business number another org already has; moving it takes `--move-phone`. */
export class PhoneClaimedError extends Error {
  override name = 'PhoneClaimedError';
  constructor(
    readonly phone: string,
    readonly ownerOrgId: string,
  ) {
    super(`${phone} already belongs to org ${ownerOrgId}`);
  }
}

/** What a claim did for one number: `from` is the org it was moved away from (its move not yet recorded). */
export interface PhoneClaim {
  readonly phone: string;
  readonly from?: string;
  /** True when this claim created the row (undone if the org's own event cannot be recorded). */
  readonly created: boolean;
}

async function orgExists(deps: Pick<CommandDeps, 'store'>, orgId: string): Promise<boolean> {
  return (await findOrg(deps, orgId)) !== null;
}

/**
 * Claims business numbers for `orgId` in `org_phone_claims`, atomically with any other claimant (row
 * locks in one transaction, numbers in a fixed order): a number another org holds is refused with
 * {@link PhoneClaimedError} unless `move`, which re-points it and remembers where it came from until that
 * org records the move. A claim left for 10 minutes by an org that was never created (a crashed
 * `org create`) is stale and taken over.
 */
export async function claimPhones(
  deps: Pick<CommandDeps, 'store'> & { db: Kysely<Database> },
  orgId: string,
  phones: readonly string[],
  options: { move: boolean },
): Promise<PhoneClaim[]> {
  const wanted = [...new Set(phones)].sort();
  if (!wanted.length) return [];
  return deps.db.transaction().execute(async (trx) => {
    const claims: PhoneClaim[] = [];
    for (const phone of wanted) {
      const inserted = await trx
        .insertInto('org_phone_claims')
        .values({ phone, org_id: orgId })
        .onConflict((c) => c.column('phone').doNothing())
        .returning('phone')
        .executeTakeFirst();
      if (inserted) {
        claims.push({ phone, created: true });
        continue;
      }
      const row = await trx
        .selectFrom('org_phone_claims')
        .select(['org_id', 'moved_from', sql<boolean>`claimed_at < now() - ${STALE_AFTER}::interval`.as('old')])
        .where('phone', '=', phone)
        .forUpdate()
        .executeTakeFirstOrThrow();
      if (row.org_id === orgId) {
        claims.push({ phone, created: false, ...(row.moved_from && { from: row.moved_from }) });
        continue;
      }
      // A fresh claim's org may be about to record its creation: only an old claim of no org is stale.
      const stale = row.old && !(await orgExists(deps, row.org_id));
      if (!stale && !options.move) throw new PhoneClaimedError(phone, row.org_id);
      await trx
        .updateTable('org_phone_claims')
        .set({ org_id: orgId, moved_from: stale ? null : row.org_id, claimed_at: new Date() })
        .where('phone', '=', phone)
        .execute();
      claims.push({ phone, created: false, ...(!stale && { from: row.org_id }) });
    }
    return claims;
  });
}

/** Marks moves as recorded on the org they left. */
export async function settleMoves(db: Kysely<Database>, orgId: string, claims: readonly PhoneClaim[]): Promise<void> {
  const moved = claims.filter((c) => c.from).map((c) => c.phone);
  if (moved.length)
    await db.updateTable('org_phone_claims').set({ moved_from: null }).where('org_id', '=', orgId).where('phone', 'in', moved).execute();
}

/** Undoes the rows a claim created, when the org's event could not be recorded. */
export async function releaseNewClaims(db: Kysely<Database>, orgId: string, claims: readonly PhoneClaim[]): Promise<void> {
  const created = claims.filter((c) => c.created).map((c) => c.phone);
  if (created.length) await db.deleteFrom('org_phone_claims').where('org_id', '=', orgId).where('phone', 'in', created).execute();
}
