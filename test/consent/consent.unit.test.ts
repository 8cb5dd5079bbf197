import t from 'tap';
import { type ConsentCommand, type ConsentEvent, type ConsentState, consentView, decide, evolve } from '../../src/domain/consent.ts';
import type { Envelope } from '../../src/domain/envelope.ts';
import { DomainRuleError } from '../../src/domain/errors.ts';
import { consentIdFor } from '../../src/domain/ids.ts';
import { summarize } from '../../src/domain/summary.ts';
import { specFor } from '../support/gwt.ts';

const now = '2031-03-10T15:00:00.000Z';
const orgId = '9a8b7c6d-5e4f-4321-9876-543210fedcba';
const phone = '+15125550199';
const at = (event: ConsentEvent, occurredAt = now): Envelope<ConsentEvent> => ({ ...event, occurredAt });
const spec = specFor<ConsentState, ConsentCommand, Envelope<ConsentEvent>>({
  decide: (command, state) => decide(command, state).map((e) => at(e)),
  evolve,
  initial: null,
});

const stop = { messageSid: 'SM0123456789abcdef0123456789abcdef', body: 'STOP', by: phone };
const optedOut = (source: 'keyword' | 'member' = 'keyword'): ConsentEvent => ({
  type: 'ContactOptedOut',
  data: { orgId, phone, source, evidence: source === 'keyword' ? stop : { by: 'member-1' } },
});
const optedIn: ConsentEvent = { type: 'ContactOptedIn', data: { orgId, phone, source: 'keyword', evidence: { body: 'START', by: phone } } };

t.test('a STOP from a contact never heard from opts them out, with the text as evidence', async (t) => {
  spec(t)
    .given([])
    .when({ type: 'OptOut', now, data: { orgId, phone, source: 'keyword', evidence: stop } })
    .then([at(optedOut())]);
});

t.test('opting out again while opted out records nothing: the first revocation is the evidence', async (t) => {
  spec(t)
    .given([at(optedOut())])
    .when({ type: 'OptOut', now, data: { orgId, phone, source: 'member', evidence: { by: 'member-1' } } })
    .then([]);
});

t.test('START after STOP opts the contact in again; START while opted in records nothing', async (t) => {
  const command: ConsentCommand = { type: 'OptIn', now, data: optedIn.data };
  spec(t)
    .given([at(optedOut())])
    .when(command)
    .then([at(optedIn)]);
  spec(t)
    .given([at(optedOut()), at(optedIn)])
    .when(command)
    .then([]);
});

t.test('a member can never opt a contact in', async (t) => {
  spec(t)
    .given([at(optedOut())])
    .when({ type: 'OptIn', now, data: { orgId, phone, source: 'member', evidence: { by: 'member-1' } } })
    .thenThrows(DomainRuleError, /never an opt-in/);
});

t.test('the state tells status, since and source; no event is unknown', async (t) => {
  t.same(consentView(null), { status: 'unknown', since: null, source: null });
  const state = [at(optedOut(), '2031-03-10T16:00:00.000Z')].reduce(evolve, null);
  t.same(consentView(state), { status: 'opted_out', since: '2031-03-10T16:00:00.000Z', source: 'keyword' });
  t.same(state?.evidence, stop);
});

t.test('the consent id is one per (org, phone), pinned', async (t) => {
  t.equal(consentIdFor(orgId, phone), consentIdFor(orgId, phone));
  t.not(consentIdFor(orgId, phone), consentIdFor(orgId, '+15125550198'));
  t.equal(consentIdFor(orgId, phone), '082ea739-82ba-5968-91f7-9a7e990defdb', 'stored streams depend on it: never change it');
});

t.test('the audit timeline describes opt-outs and opt-ins in one line with how they happened', async (t) => {
  t.equal(summarize(optedOut()), '+15125550199 opted out (keyword: "STOP")');
  t.equal(summarize(optedOut('member')), '+15125550199 opted out (member)');
  t.equal(summarize(optedIn), '+15125550199 opted in (keyword: "START")');
});
