import { sql } from 'kysely';
import t from 'tap';
import { testApp } from '../support/app.ts';

/**
 * Outbound webhook endpoints on the internal API (CONTRACT §9): admins and owners only, per org, the
 * secret shown once and never in an event, URLs that resolve to private addresses refused.
 */
const ctx = await testApp(t);
const { app, services } = ctx;
const API = '/api/internal/v1/webhook-endpoints';

const orgA = await ctx.createOrg();
const orgB = await ctx.createOrg({ name: 'Borealis' });
const owner = await ctx.memberToken(orgA, 'owner');
const admin = await ctx.memberToken(orgA, 'admin');
const member = await ctx.memberToken(orgA, 'member');
const auditor = await ctx.memberToken(orgA, 'auditor');
const adminB = await ctx.memberToken(orgB, 'admin');
const integration = await ctx.token(orgA);

const call = (method: 'GET' | 'POST' | 'DELETE', url: string, token: string | undefined, payload?: object) =>
  app.inject({ method, url, headers: token ? { authorization: `Bearer ${token}` } : {}, ...(payload && { payload }) });

// A public address (TEST-NET documentation ranges are reserved; this one is a routable public address).
const PUBLIC_URL = 'https://93.184.215.14/hooks/callsnare';

t.test(
  'an admin registers an endpoint: 201 with a whsec_ secret shown once; the list shows it with health, never the secret',
  async (t) => {
    const res = await call('POST', API, admin.token, {
      url: PUBLIC_URL,
      events: ['booking.created', 'lead.status_changed'],
      description: 'CRM',
    });
    t.equal(res.statusCode, 201, res.body);
    const body = res.json();
    t.match(body, { id: String, url: PUBLIC_URL, events: ['booking.created', 'lead.status_changed'] });
    t.match(body.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    t.equal(Buffer.from(body.secret.slice(6), 'base64').length, 32);
    t.equal(res.headers['cache-control'], 'no-store');

    const list = await call('GET', API, owner.token);
    t.equal(list.statusCode, 200);
    const [endpoint] = list.json().data;
    t.match(endpoint, {
      id: body.id,
      url: PUBLIC_URL,
      status: 'active',
      description: 'CRM',
      health: { lastStatus: null, failuresInARow: 0, nextRetryAt: null, pending: 0 },
    });
    t.notOk(JSON.stringify(list.json()).includes(body.secret), 'the list never shows the secret');

    const { rows } = await sql<{ event_type: string; data: Record<string, unknown>; actor: Record<string, string> }>`
    select event_type, data, metadata->'actor' as actor from es_events where stream_id = ${`org-${orgA}`} and event_type like 'Webhook%'`.execute(
      services.db,
    );
    t.equal(rows.length, 1);
    t.match(rows[0], {
      event_type: 'WebhookEndpointAdded',
      data: { endpointId: body.id, secretFingerprint: /^sha256:[0-9a-f]{16}$/ },
      actor: { type: 'team_member' },
    });
    t.notOk(JSON.stringify(rows).includes(body.secret.slice(6)), 'the event holds a fingerprint, not the secret');

    const rotated = await call('POST', `${API}/${body.id}/rotate-secret`, admin.token);
    t.equal(rotated.statusCode, 200);
    t.match(rotated.json(), { id: body.id, secret: /^whsec_/, previousValidUntil: String });
    const events = await sql<{ event_type: string }>`
    select event_type from es_events where stream_id = ${`org-${orgA}`} and event_type like 'Webhook%' order by stream_revision`.execute(
      services.db,
    );
    t.same(
      events.rows.map((r) => r.event_type),
      ['WebhookEndpointAdded', 'WebhookSecretRotated'],
    );

    t.equal((await call('DELETE', `${API}/${body.id}`, admin.token)).statusCode, 204);
    t.same((await call('GET', API, admin.token)).json().data, [], 'gone from the list');
    t.equal((await call('DELETE', `${API}/${body.id}`, admin.token)).statusCode, 404, 'removing twice is 404');
  },
);

t.test("another org's endpoint is 404 on every route, like an absent one", async (t) => {
  const created = (await call('POST', API, admin.token, { url: PUBLIC_URL, events: ['booking.created'] })).json();
  for (const [method, url] of [
    ['DELETE', `${API}/${created.id}`],
    ['POST', `${API}/${created.id}/rotate-secret`],
    ['GET', `${API}/${created.id}/deliveries`],
  ] as const) {
    const res = await call(method, url, adminB.token);
    t.equal(res.statusCode, 404, `${method} ${url}`);
    t.match(res.headers['content-type'], /^application\/problem\+json/);
  }
  const replay = await call('POST', `${API}/${created.id}/replay`, adminB.token, { since: '2030-01-01T00:00:00.000Z' });
  t.equal(replay.statusCode, 404);
  t.same((await call('GET', API, adminB.token)).json().data, [], "org B does not list org A's endpoint");
  t.equal((await call('GET', API, admin.token)).json().data.length, 1, 'and it is still there');
});

t.test('members and auditors are refused (403), no token is 401, an integration token is 401', async (t) => {
  for (const who of [member, auditor]) {
    const list = await call('GET', API, who.token);
    t.equal(list.statusCode, 403);
    t.equal(list.json().code, 'insufficient_role');
    t.equal((await call('POST', API, who.token, { url: PUBLIC_URL, events: ['booking.created'] })).statusCode, 403);
  }
  t.equal((await call('GET', API, undefined)).statusCode, 401);
  t.equal((await call('POST', API, undefined, { url: PUBLIC_URL, events: ['booking.created'] })).statusCode, 401);
  t.equal((await call('GET', API, integration.token)).statusCode, 401);
});

t.test(
  'URLs that are not http(s) or resolve to loopback, link-local or private addresses are refused (400), and nothing is recorded',
  async (t) => {
    const before = (await call('GET', API, admin.token)).json().data.length;
    for (const url of [
      'ftp://93.184.215.14/x',
      'file:///etc/passwd',
      'http://127.0.0.1:8080/hook',
      'http://localhost/hook',
      'http://10.1.2.3/hook',
      'http://192.168.0.10/hook',
      'http://172.16.5.5/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]/hook',
      'http://[fe80::1]/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://0.0.0.0/hook',
      'http://user:pw@93.184.215.14/hook',
      'not a url',
    ]) {
      const res = await call('POST', API, admin.token, { url, events: ['booking.created'] });
      t.equal(res.statusCode, 400, `${url}: ${res.body}`);
      t.match(res.json(), { code: 'validation_failed', errors: [{ path: 'url' }] });
    }
    const unknownType = await call('POST', API, admin.token, { url: PUBLIC_URL, events: ['booking.exploded'] });
    t.equal(unknownType.statusCode, 400);
    t.equal((await call('GET', API, admin.token)).json().data.length, before, 'no endpoint was added');
    const { rows } = await sql<{ n: string }>`select count(*) as n from es_events where event_type = 'WebhookEndpointAdded'`.execute(
      services.db,
    );
    t.equal(rows[0]!.n, '2', 'no event either (only the two endpoints registered above)');
  },
);
