import type { Kysely } from 'kysely';
import type { z } from 'zod';
import type { Database } from '../db/schema.ts';
import { NotFoundError } from '../domain/errors.ts';
import type { orgSettingsPatch } from '../domain/events/org.ts';
import { type Org, type OrgCommand, type OrgEvent, type OrgState, decide, evolve, orgStream } from '../domain/org.ts';
import type { CommandCaller, CommandDeps } from './context.ts';
import { execute } from './execute.ts';
import { type PhoneClaim, claimPhones, releaseNewClaims, settleMoves } from './phone-claims.ts';

/** Org commands claim business numbers when given the database (the CLI and the API always do). */
type OrgDeps = CommandDeps & { readonly db?: Kysely<Database> };

async function run(deps: CommandDeps, caller: CommandCaller, orgId: string, command: (now: string) => OrgCommand) {
  const result = await execute<OrgState, OrgEvent>(deps, caller, {
    streamId: orgStream(orgId),
    evolve,
    initial: null,
    decide: (loaded, now) => ({ append: decide(command(now.toISOString()), loaded.state) }),
  });
  if (result.kind !== 'appended' || !result.state) throw new NotFoundError(`org ${orgId} not found`);
  return { org: result.state, position: result.position };
}

/**
 * Claims the numbers (refusing one another org has, unless `movePhones`), records the command, then
 * records each move on the org the number left. A failed command gives back the numbers it newly claimed.
 */
async function withPhones<T>(
  deps: OrgDeps,
  caller: CommandCaller,
  phones: readonly string[],
  movePhones: boolean,
  command: (claims: PhoneClaim[]) => Promise<T>,
): Promise<T> {
  const db = deps.db;
  const claims = db && phones.length ? await claimPhones({ store: deps.store, db }, caller.orgId, phones, { move: movePhones }) : [];
  let result: T;
  try {
    result = await command(claims);
  } catch (error) {
    if (db) await releaseNewClaims(db, caller.orgId, claims);
    throw error;
  }
  for (const { phone, from } of claims) {
    if (!from) continue;
    const owner = { ...caller, orgId: from };
    await execute<OrgState, OrgEvent>(deps, owner, {
      streamId: orgStream(from),
      evolve,
      initial: null,
      decide: (loaded, now) => ({
        append: loaded.state
          ? decide({ type: 'ReleasePhone', now: now.toISOString(), data: { orgId: from, phone, movedTo: caller.orgId } }, loaded.state)
          : [],
      }),
    });
  }
  if (db) await settleMoves(db, caller.orgId, claims);
  return result;
}

/** Creates an org; a number another org has is refused ({@link PhoneClaimedError}) unless `movePhones`. */
export function createOrg(
  deps: OrgDeps,
  caller: CommandCaller,
  data: { orgId: string; name: string; timezone: string; phones: string[]; movePhones?: boolean },
) {
  const { movePhones = false, ...created } = data;
  return withPhones(deps, caller, created.phones, movePhones, () =>
    run(deps, caller, created.orgId, (now) => ({ type: 'CreateOrg', now, data: created })),
  );
}

/** Changes automation settings and/or adds business numbers (claimed as by {@link createOrg}); unchanged values record nothing. */
export function configureOrg(
  deps: OrgDeps,
  caller: CommandCaller,
  data: { orgId: string; changes: z.output<typeof orgSettingsPatch>; addPhones?: string[]; movePhones?: boolean },
) {
  const { movePhones = false, ...configured } = data;
  return withPhones(deps, caller, configured.addPhones ?? [], movePhones, (claims) => {
    const movedFrom = Object.fromEntries(claims.filter((c) => c.from).map((c) => [c.phone, c.from!]));
    return run(deps, caller, configured.orgId, (now) => ({
      type: 'ConfigureOrg',
      now,
      data: { ...configured, ...(Object.keys(movedFrom).length && { movedFrom }) },
    }));
  });
}

/** Adds a team member record to the org. */
export function addMember(
  deps: CommandDeps,
  caller: CommandCaller,
  data: { orgId: string; memberId: string; email: string; role: Org['members'][number]['role'] },
) {
  return run(deps, caller, data.orgId, (now) => ({ type: 'AddMember', now, data }));
}

/**
 * Changes a member's role (`byRole`: the role of who asks; only an owner makes or unmakes owners, and the
 * last owner stays). The same role again records nothing.
 */
export function changeMemberRole(
  deps: CommandDeps,
  caller: CommandCaller,
  data: { orgId: string; memberId: string; role: Org['members'][number]['role']; byRole: Org['members'][number]['role'] | 'operator' },
) {
  return run(deps, caller, data.orgId, (now) => ({ type: 'ChangeMemberRole', now, data }));
}

/** Removes a member from the org (MemberRemoved); only an owner removes an owner and the last owner stays. */
export function removeMember(
  deps: CommandDeps,
  caller: CommandCaller,
  data: { orgId: string; memberId: string; byRole: Org['members'][number]['role'] | 'operator' },
) {
  return run(deps, caller, data.orgId, (now) => ({ type: 'RemoveMember', now, data }));
}
