// Lead assignment (CONTRACT §10), given/when/then on the lead aggregate.
import t from 'tap';
import type { Envelope } from '../../src/domain/envelope.ts';
import { NotFoundError } from '../../src/domain/errors.ts';
import { type LeadCommand, type LeadEvent, type LeadState, decide, evolve, foldLead, toLeadView } from '../../src/domain/lead.ts';
import { specFor } from '../support/gwt.ts';

const now = '2026-12-05T15:00:00.000Z';
const at = (event: LeadEvent, occurredAt = now): Envelope<LeadEvent> => ({ ...event, occurredAt });
const leadId = '7c1d2e3f-4a5b-4c6d-8e7f-901234567890';
const orgId = '9a8b7c6d-5e4f-4321-9876-543210fedcba';
const dana = { memberId: '11111111-2222-4333-8444-555555555555', label: 'dana@acme.test' };
const sam = { memberId: '66666666-7777-4888-8999-aaaaaaaaaaaa', label: 'sam@acme.test' };
const messageId = 'bbbbbbbb-cccc-4ddd-8eee-ffffffffffff';

const spec = specFor<LeadState, LeadCommand, Envelope<LeadEvent>>({
  decide: (command, state) => decide(command, state).map((e) => at(e)),
  evolve,
  initial: null,
});

const opened: LeadEvent = {
  type: 'LeadOpened',
  data: { leadId, orgId, callerPhone: '+15125550199', businessPhone: '+15125550100', generation: 0, source: 'missed_call' },
};
const assign = (who: typeof dana | null, reason?: 'manual' | 'round_robin'): LeadCommand => ({
  type: 'AssignLead',
  now,
  data: { leadId, assignee: who, ...(reason && { reason }) },
});
const assigned = (who: typeof dana, reason: 'manual' | 'reply' | 'round_robin' = 'manual', previous?: string): LeadEvent => ({
  type: 'LeadAssigned',
  data: { leadId, memberId: who.memberId, label: who.label, ...(previous && { previousMemberId: previous }), reason },
});
const unassigned = (previous: string): LeadEvent => ({ type: 'LeadUnassigned', data: { leadId, previousMemberId: previous } });
const reply = (replier?: typeof dana): LeadCommand => ({
  type: 'RequestOutboundText',
  now,
  data: { leadId, messageId, clientMessageId: 'click-0001', body: 'On our way' },
  ...(replier && { replier }),
});
const requested: LeadEvent = {
  type: 'OutboundTextRequested',
  data: { leadId, messageId, clientMessageId: 'click-0001', body: 'On our way', to: '+15125550199' },
};

t.test('an unassigned lead is assigned to a member', async (t) => {
  spec(t)
    .given([at(opened)])
    .when(assign(dana))
    .then([at(assigned(dana))]);
});

t.test('assigning the current assignee again records nothing (two tabs, one LeadAssigned)', async (t) => {
  spec(t)
    .given([at(opened), at(assigned(dana))])
    .when(assign(dana))
    .then([]);
});

t.test('reassigning names the previous assignee', async (t) => {
  spec(t)
    .given([at(opened), at(assigned(dana))])
    .when(assign(sam))
    .then([at(assigned(sam, 'manual', dana.memberId))]);
});

t.test('unassigning an assigned lead records LeadUnassigned; an unassigned one records nothing', async (t) => {
  spec(t)
    .given([at(opened), at(assigned(dana))])
    .when(assign(null))
    .then([at(unassigned(dana.memberId))]);
  spec(t)
    .given([at(opened)])
    .when(assign(null))
    .then([]);
});

t.test('round robin is recorded as the reason', async (t) => {
  spec(t)
    .given([at(opened)])
    .when(assign(dana, 'round_robin'))
    .then([at(assigned(dana, 'round_robin'))]);
});

t.test('assigning a lead that does not exist is not found', async (t) => {
  spec(t).given([]).when(assign(dana)).thenThrows(NotFoundError);
});

t.test("a member's reply assigns an unassigned lead to them", async (t) => {
  spec(t)
    .given([at(opened)])
    .when(reply(dana))
    .then([at(requested), at(assigned(dana, 'reply'))]);
});

t.test('a reply leaves an assigned lead with its assignee; a repeated click records nothing', async (t) => {
  spec(t)
    .given([at(opened), at(assigned(sam))])
    .when(reply(dana))
    .then([at(requested)]);
  spec(t)
    .given([at(opened), at(requested)])
    .when(reply(dana))
    .then([]);
});

t.test('a reply with no member behind it (an integration) assigns nobody', async (t) => {
  spec(t)
    .given([at(opened)])
    .when(reply())
    .then([at(requested)]);
});

t.test('the view carries the assignee and since when; null when nobody', async (t) => {
  const later = '2026-12-05T15:05:00.000Z';
  const lead = foldLead([at(opened), at(assigned(dana), later)])!;
  t.same(toLeadView(lead).assignee, { ...dana, since: later });
  t.equal(toLeadView(foldLead([at(opened), at(assigned(dana)), at(unassigned(dana.memberId))])!).assignee, null);
  t.equal(toLeadView(foldLead([at(opened)])!).assignee, null);
});
