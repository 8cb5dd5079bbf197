// Reading an org from its stream: `loadOrg` (missing is an error) and `findOrg` (missing is null), with the
// per-store cache of orgs already folded. Commands, automation and the CLI read orgs here; org commands live in
// orgs.ts, which (through phone-claims.ts) reads here too — no circle.
import { NotFoundError } from '../domain/errors.ts';
import { type Org, type OrgEvent, type OrgState, evolve, orgStream } from '../domain/org.ts';
import type { CommandDeps, OrgSeen } from './context.ts';
import { loadStream } from './execute.ts';
import { toEnvelope } from '../eventstore/envelope.ts';
import type { RecordedEvent } from '../eventstore/port.ts';

/** Orgs as last read, per store, with their stream's head: `loadOrg` given the same head answers from here. */
type ReadOrg = { readonly lastHash: string; readonly revision: number; readonly org: Org };
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

/**
 * Reads an org as {@link loadOrg} does; null when there is no such org. An org this process folded before
 * is read on from its revision (the events past it, usually none) instead of from the stream's start:
 * streams only grow, so the result is the org as of the stream's head either way.
 */
export async function findOrg(deps: Pick<CommandDeps, 'store'>, orgId: string, seen?: OrgSeen): Promise<Org | null> {
  let cache = readOrgs.get(deps.store);
  const cached = cache?.get(orgId);
  if (cached && seen?.orgId === orgId && cached.lastHash === seen.lastHash) return cached.org;
  let state: OrgState;
  let last: { readonly hash: string; readonly revision: number } | undefined;
  if (cached) {
    const newer = (await deps.store.readStream(orgStream(orgId), { fromRevision: cached.revision + 1 })) as RecordedEvent<OrgEvent>[];
    if (newer.length === 0) return cached.org;
    state = newer.reduce<OrgState>((s, e) => evolve(s, toEnvelope(e)), cached.org);
    last = newer.at(-1);
  } else {
    const loaded = await loadStream<OrgState, OrgEvent>(deps.store, orgStream(orgId), evolve, null);
    state = loaded.state;
    last = loaded.events.at(-1);
  }
  if (!state || !last) return null;
  if (!cache) readOrgs.set(deps.store, (cache = new Map<string, ReadOrg>()));
  if (cache.size >= READ_ORGS_MAX && !cached) cache.delete(cache.keys().next().value!);
  cache.set(orgId, { lastHash: last.hash, revision: last.revision, org: state });
  return state;
}
