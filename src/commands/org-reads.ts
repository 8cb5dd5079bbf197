// Reading an org from its stream: `loadOrg` (missing is an error) and `findOrg` (missing is null), with the
// per-store cache of orgs already folded. Commands, automation and the CLI read orgs here; org commands live in
// orgs.ts, which (through phone-claims.ts) reads here too — no circle.
import { NotFoundError } from '../domain/errors.ts';
import { type Org, type OrgEvent, type OrgState, evolve, orgStream } from '../domain/org.ts';
import type { CommandDeps, OrgSeen } from './context.ts';
import { loadStream } from './execute.ts';

/** Orgs as last read, per store, with their stream's head: `loadOrg` given the same head answers from here. */
type ReadOrg = { readonly lastHash: string; readonly org: Org };
const readOrgs = new WeakMap<CommandDeps['store'], Map<string, ReadOrg>>();
const READ_ORGS_MAX = 10_000;

/**
 * Reads an org from its stream; throws NotFoundError if absent. `seen`, the head of the org stream's hash
 * chain as the caller just read it (see {@link CommandCaller.orgSeen}), lets an org this process already
 * folded up to that very event be used without reading the stream again: never an older one.
 */
export async function loadOrg(deps: Pick<CommandDeps, 'store'>, orgId: string, seen?: OrgSeen): Promise<Org> {
  const org = await findOrg(deps, orgId, seen);
  if (!org) throw new NotFoundError(`org ${orgId} not found`);
  return org;
}

/** Reads an org as {@link loadOrg} does; null when there is no such org. */
export async function findOrg(deps: Pick<CommandDeps, 'store'>, orgId: string, seen?: OrgSeen): Promise<Org | null> {
  let cache = readOrgs.get(deps.store);
  const cached = cache?.get(orgId);
  if (cached && seen?.orgId === orgId && cached.lastHash === seen.lastHash) return cached.org;
  const { state, events } = await loadStream<OrgState, OrgEvent>(deps.store, orgStream(orgId), evolve, null);
  if (!state) return null;
  if (!cache) readOrgs.set(deps.store, (cache = new Map<string, ReadOrg>()));
  if (cache.size >= READ_ORGS_MAX && !cached) cache.delete(cache.keys().next().value!);
  cache.set(orgId, { lastHash: events.at(-1)!.hash, org: state });
  return state;
}
