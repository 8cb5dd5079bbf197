import type { z } from 'zod';
import { NotFoundError } from '../domain/errors.ts';
import type { orgSettingsPatch } from '../domain/events/org.ts';
import { type Org, type OrgCommand, type OrgEvent, type OrgState, decide, evolve, orgStream } from '../domain/org.ts';
import type { CommandCaller, CommandDeps } from './context.ts';
import { execute, loadStream } from './execute.ts';

/** Reads an org from its stream (always current); throws NotFoundError if absent. */
export async function loadOrg(deps: Pick<CommandDeps, 'store'>, orgId: string): Promise<Org> {
  const { state } = await loadStream<OrgState, OrgEvent>(deps.store, orgStream(orgId), evolve, null);
  if (!state) throw new NotFoundError(`org ${orgId} not found`);
  return state;
}

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

/** Creates an org. */
export function createOrg(deps: CommandDeps, caller: CommandCaller, data: { orgId: string; name: string; timezone: string; phones: string[] }) {
  return run(deps, caller, data.orgId, (now) => ({ type: 'CreateOrg', now, data }));
}

/** Changes automation settings and/or adds business numbers; unchanged values record nothing. */
export function configureOrg(
  deps: CommandDeps,
  caller: CommandCaller,
  data: { orgId: string; changes: z.output<typeof orgSettingsPatch>; addPhones?: string[] },
) {
  return run(deps, caller, data.orgId, (now) => ({ type: 'ConfigureOrg', now, data }));
}

/** Adds a team member record to the org. */
export function addMember(deps: CommandDeps, caller: CommandCaller, data: { orgId: string; memberId: string; email: string; role: Org['members'][number]['role'] }) {
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
