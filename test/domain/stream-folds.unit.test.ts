import { randomUUID } from 'node:crypto';
import t from 'tap';
import { bookingStream } from '../../src/domain/booking.ts';
import { consentStream } from '../../src/domain/consent.ts';
import { credentialStream } from '../../src/domain/credential.ts';
import { EVENT_TYPES } from '../../src/domain/events/index.ts';
import { leadStream } from '../../src/domain/lead.ts';
import { orgStream } from '../../src/domain/org.ts';
import { STREAM_FOLDS, foldOf } from '../../src/domain/stream-folds.ts';

t.test('every event type of the catalog belongs to exactly one stream kind with a fold', async (t) => {
  const kinds = EVENT_TYPES.map((type) => Object.keys(STREAM_FOLDS).filter((prefix) => STREAM_FOLDS[prefix]!.eventTypes.includes(type)));
  t.same(
    EVENT_TYPES.filter((_, i) => kinds[i]!.length !== 1),
    [],
    'event types with no fold, or more than one',
  );
});

t.test("every aggregate's stream name finds its fold; other names find none", async (t) => {
  const id = randomUUID();
  for (const stream of [bookingStream(id), leadStream(id), orgStream(id), credentialStream(id), consentStream(id)])
    t.ok(foldOf(stream), stream);
  t.same(Object.keys(STREAM_FOLDS).sort(), ['booking-', 'consent-', 'credential-', 'lead-', 'org-']);
  t.equal(foldOf(`idempotency-${id}`), undefined);
  t.equal(foldOf(`member-${id}`), undefined);
});
