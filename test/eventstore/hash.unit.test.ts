import t from 'tap';
import { chainHash, contentDigest } from '../../src/eventstore/hash.ts';

const base = {
  streamId: 'org-1',
  id: '00000000-0000-4000-8000-000000000001',
  type: 'OrgPhoneAdded',
  data: { orgId: 'o', phone: '+15125550100' },
  metadata: {
    orgId: '00000000-0000-4000-8000-000000000002',
    actor: { type: 'system' as const, id: 's', label: 's' },
    correlationId: 'c',
    causationId: 'c',
    occurredAt: '2026-01-01T00:00:00.000Z',
    schemaVersion: 1,
  },
};

t.test('the content digest ignores key order and the chain links', async (t) => {
  const reordered = { ...base, data: { phone: '+15125550100', orgId: 'o' } };
  t.equal(contentDigest(reordered), contentDigest(base));
  t.equal(contentDigest({ ...base, metadata: { ...base.metadata, prevHash: 'a'.repeat(64), hash: 'b' } }), contentDigest(base));
});

t.test('the content digest changes with any field', async (t) => {
  t.not(contentDigest({ ...base, data: { ...base.data, phone: '+15125550101' } }), contentDigest(base));
  t.not(contentDigest({ ...base, streamId: 'org-2' }), contentDigest(base));
  t.not(contentDigest({ ...base, metadata: { ...base.metadata, actor: { ...base.metadata.actor, id: 'x' } } }), contentDigest(base));
});

t.test('a chain link depends on the previous hash', async (t) => {
  const digest = contentDigest(base);
  t.match(chainHash('0'.repeat(64), digest), /^[0-9a-f]{64}$/);
  t.not(chainHash('0'.repeat(64), digest), chainHash('1'.repeat(64), digest));
});
