// Derived ids are stored in events and replayed by retries: these values must never change.
import t from 'tap';
import {
  eventIdsFromKey,
  evidenceEventId,
  idFromKey,
  leadEventIds,
  leadIdFor,
  logMessageId,
  consentEventIds,
  consentIdFor,
  requestHash,
  requestedMessageId,
  stripeEventIds,
} from '../../src/domain/ids.ts';

const org = '11111111-2222-4333-8444-555555555555';

t.test('a keyed create derives the same booking id and event ids as ever', async (t) => {
  t.equal(idFromKey(org, 'key-1'), 'a26f36e5-b5f5-5edf-b266-d2bc8be04106');
  t.same(eventIdsFromKey(org, 'booking-x', { key: 'key-1', requestHash: 'abc' }, 2), [
    'a2e44b15-ab9a-57b7-a13f-29465ac18341',
    '3156fc3d-accd-5a98-8703-36381c3da666',
  ]);
  t.equal(requestHash('post', '/v1/bookings', { b: 1, a: [1, 2] }), '2fd5cecca8cc50a23f80d8315701dee866681ff11c0b2921013a9a96342d172e');
  t.equal(
    requestHash('POST', '/v1/bookings', { a: [1, 2], b: 1 }),
    requestHash('post', '/v1/bookings', { b: 1, a: [1, 2] }),
    'key order does not matter',
  );
});

t.test("a caller's leads and the keyed lead writes derive the same ids as ever", async (t) => {
  t.same(
    [leadIdFor(org, '+15125550100', 0), leadIdFor(org, '+15125550100', 1)],
    ['fe5bd38b-43f2-567c-ae71-b6be517d9e50', 'dd212e91-cc87-5b70-9e14-379c1d56b65a'],
  );
  t.same(leadEventIds(org, 'twilio-message\nSM1', 2), ['5326cd10-0524-505e-b6fe-1e5ad108b78e', 'a1ba2a47-44a1-5350-8e35-413d4327f457']);
  t.equal(requestedMessageId(org, 'lead-1', 'client-1'), 'efa310b4-3578-50c0-96f8-e91d74003731');
});

t.test('evidence and Stripe-driven events derive the same ids as ever', async (t) => {
  t.equal(evidenceEventId('confirmation:b1'), '80789b69-adfa-5919-82dc-3955824dc236');
  t.same(stripeEventIds(org, 'evt_1', 2), ['9890c35f-deb1-5a41-b74c-bf9f0429d0f3', '009cf91c-b79d-51d3-8b0d-d846b0fb1eee']);
  t.equal(logMessageId('confirmation:b1'), 'LMbe5378e29a6e5673a9e50e8dcac49081');
});

t.test('consent streams and their events derive the same ids as ever', async (t) => {
  t.equal(consentIdFor(org, '+15125550199'), 'bda0fa35-916d-50f0-aa2c-42705d289abe');
  t.same(consentEventIds(org, '+15125550199', 'twilio-message\nSM1', 1), ['278ffb3b-45ac-5d6b-a6f9-980020310ccd']);
});
