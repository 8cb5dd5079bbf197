// Lead assignment (CONTRACT §10), given/when/then on the lead aggregate.
import t from 'tap';
import type { Envelope } from '../../src/domain/envelope.ts';
import { NotFoundError, StateConflictError } from '../../src/domain/errors.ts';
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

// Response targets (CONTRACT §10).
const due = '2026-12-05T15:05:00.000Z';
const openedWithTarget: LeadEvent = {
  type: 'LeadOpened',
  data: { ...opened.data, firstResponseDueAt: due, firstResponseHalfAt: '2026-12-05T15:02:30.000Z' } as typeof opened.data,
};
const overdue = (now2: string): LeadCommand => ({ type: 'RecordResponseOverdue', now: now2, data: { leadId } });
const callBack = (outcome: 'reached' | 'voicemail' | 'no_answer'): LeadCommand => ({ type: 'LogCallBack', now, data: { leadId, outcome } });

t.test('a lead with nobody answering by its due time is overdue, once', async (t) => {
  spec(t)
    .given([at(openedWithTarget)])
    .when(overdue('2026-12-05T15:05:00.000Z'))
    .then([at({ type: 'LeadResponseOverdue', data: { leadId, dueAt: due } })]);
  spec(t)
    .given([at(openedWithTarget), at({ type: 'LeadResponseOverdue', data: { leadId, dueAt: due } })])
    .when(overdue('2026-12-05T15:09:00.000Z'))
    .then([]);
});

t.test('not overdue before the due time, when answered, when closed, or without a target', async (t) => {
  spec(t)
    .given([at(openedWithTarget)])
    .when(overdue('2026-12-05T15:04:59.000Z'))
    .then([]);
  spec(t)
    .given([at(openedWithTarget), at(requested)])
    .when(overdue('2026-12-05T15:09:00.000Z'))
    .then([]);
  spec(t)
    .given([at(openedWithTarget), at({ type: 'CallBackLogged', data: { leadId, outcome: 'voicemail' } })])
    .when(overdue('2026-12-05T15:09:00.000Z'))
    .then([]);
  spec(t)
    .given([at(openedWithTarget), at({ type: 'LeadStatusChanged', data: { leadId, from: 'active', to: 'lost' } })])
    .when(overdue('2026-12-05T15:09:00.000Z'))
    .then([]);
  spec(t)
    .given([at(opened)])
    .when(overdue('2026-12-05T15:09:00.000Z'))
    .then([]);
});

t.test('a logged call-back is recorded; reaching the caller answers them', async (t) => {
  spec(t)
    .given([at(openedWithTarget)])
    .when(callBack('no_answer'))
    .then([at({ type: 'CallBackLogged', data: { leadId, outcome: 'no_answer' } })]);
  const lead = foldLead([
    at(openedWithTarget),
    at({ type: 'CallBackLogged', data: { leadId, outcome: 'reached' } }, '2026-12-05T15:03:00.000Z'),
  ])!;
  t.equal(lead.firstRespondedAt, '2026-12-05T15:03:00.000Z');
  t.equal(lead.waitingSince, null);
  t.equal(toLeadView(lead).responseBreached, false);
});

t.test('the first response is the first reply or call-back; a late one breaches the target; the text-back is none', async (t) => {
  const textBack: LeadEvent = {
    type: 'TextBackSent',
    data: { leadId, messageId: 'SM1', to: '+15125550199', body: 'Sorry we missed you', sentAt: now, callSid: 'CA1' },
  };
  let lead = foldLead([at(openedWithTarget), at(textBack)])!;
  t.equal(toLeadView(lead).firstRespondedAt, null, 'the automatic text-back does not count');
  lead = foldLead([
    at(openedWithTarget),
    at(textBack),
    at(requested, '2026-12-05T15:07:00.000Z'),
    at(requested, '2026-12-05T15:09:00.000Z'),
  ])!;
  t.equal(lead.firstRespondedAt, '2026-12-05T15:07:00.000Z', 'the first one');
  t.equal(toLeadView(lead).responseBreached, true, 'two minutes late');
  t.match(toLeadView(lead), { firstResponseDueAt: due, firstResponseHalfAt: '2026-12-05T15:02:30.000Z' });
});

const expecting = (who: typeof dana | null, expected: string | null): LeadCommand => ({
  type: 'AssignLead',
  now,
  data: { leadId, assignee: who, expected },
});

t.test('an assignment expecting an assignee the lead no longer has is refused, naming who has it (two tabs)', async (t) => {
  spec(t)
    .given([at(opened), at(assigned(sam))])
    .when(expecting(dana, null))
    .thenThrows(StateConflictError, /just assigned to sam@acme\.test \(member 66666666-7777-4888-8999-aaaaaaaaaaaa\)/);
  spec(t)
    .given([at(opened), at(assigned(sam)), at(unassigned(sam.memberId))])
    .when(expecting(dana, sam.memberId))
    .thenThrows(StateConflictError, /just unassigned/);
});

t.test('an assignment expecting the current assignee goes ahead; one already so records nothing whatever was expected', async (t) => {
  spec(t)
    .given([at(opened), at(assigned(sam))])
    .when(expecting(dana, sam.memberId))
    .then([at(assigned(dana, 'manual', sam.memberId))]);
  spec(t)
    .given([at(opened), at(assigned(dana))])
    .when(expecting(dana, null))
    .then([]);
});
