import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.ts';
import { withSecondConnection } from '../db/second-connection.ts';
import { type ChangeConsent, type ConsentEvent, type ConsentState, consentStream, decide, evolve } from '../domain/consent.ts';
import { consentEventIds, consentIdFor } from '../domain/ids.ts';
import type { Position } from '../eventstore/port.ts';
import type { CommandCaller, CommandDeps } from './context.ts';
import { execute, loadStream } from './execute.ts';

/** What consent commands need: the store and clock, and the database whose advisory lock fences sends. */
export interface ConsentDeps extends CommandDeps {
  readonly db: Kysely<Database>;
}

/** The consent stream of a phone in an org. */
export const consentStreamOf = (orgId: string, phone: string) => consentStream(consentIdFor(orgId, phone));

/**
 * The advisory lock of a contact's consent, taken in `db`'s current transaction: exclusive by a consent
 * change for the length of its append, shared by a send's intent (messaging/ledger.ts) while it checks
 * consent and records the intent. So a send's check and an opt-out are serial across processes: an
 * opt-out either lands before the check (the send is refused) or waits until the intent is recorded.
 */
export async function lockConsent(db: Kysely<Database>, orgId: string, phone: string, mode: 'shared' | 'exclusive'): Promise<void> {
  const key = consentStreamOf(orgId, phone);
  if (mode === 'shared') await sql`select pg_advisory_xact_lock_shared(hashtextextended(${key}, 0))`.execute(db);
  else await sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`.execute(db);
}

/** A contact's consent as its stream says (null: never said). */
export async function loadConsent(deps: Pick<CommandDeps, 'store'>, orgId: string, phone: string): Promise<ConsentState> {
  return (await loadStream<ConsentState, ConsentEvent>(deps.store, consentStreamOf(orgId, phone), evolve, null)).state;
}

/** The answer to a consent change: the consent now, and where the change landed (null: nothing new). */
export interface ConsentOutcome {
  readonly consent: ConsentState;
  readonly position: Position | null;
  readonly changed: boolean;
}

/**
 * Records an opt-out or opt-in on the contact's consent stream, under the contact's exclusive consent lock
 * (see {@link lockConsent}). `key` (an inbound text's SID, a refused send's job key, a request id) makes the
 * event id deterministic, so a redelivered webhook or a retried job records nothing twice.
 */
export async function changeConsent(
  deps: ConsentDeps,
  caller: CommandCaller,
  command: Omit<ChangeConsent, 'now' | 'data'> & { data: Omit<ChangeConsent['data'], 'orgId'> },
  key: string,
): Promise<ConsentOutcome> {
  const { orgId } = caller;
  const data = { ...command.data, orgId };
  return withSecondConnection(() =>
    deps.db.transaction().execute(async (trx) => {
      await lockConsent(trx, orgId, data.phone, 'exclusive');
      const result = await execute<ConsentState, ConsentEvent>(deps, caller, {
        streamId: consentStreamOf(orgId, data.phone),
        evolve,
        initial: null,
        decide: ({ state }, now) => {
          const events = decide({ type: command.type, now: now.toISOString(), data }, state);
          return { append: events, eventIds: consentEventIds(orgId, data.phone, key, events.length) };
        },
      });
      if (result.kind === 'done') throw new Error('unreachable');
      return { consent: result.state, position: result.position, changed: result.events.length > 0 && !result.duplicate };
    }),
  );
}
