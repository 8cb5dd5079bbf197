// Secrets stay hidden (issue 21 items 9, 14, 17): the audit state of a credential stream shows no token
// hash, a new sign-in drops the browser's previous session, and no log line carries a token whatever the
// path. Real HTTP stack, real PostgreSQL.
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import Fastify from 'fastify';
import pino from 'pino';
import t from 'tap';
import { issueCredential } from '../../src/identity/index.ts';
import { addMember } from '../../src/commands/orgs.ts';
import { setMemberPassword } from '../../src/identity/index.ts';
import { loggableUrl } from '../../src/logger.ts';
import { operator, testApp } from '../support/app.ts';
import { settle } from '../webhooks/fixtures/providers.ts';

const ctx = await testApp(t);
const { app, services } = ctx;
const PASSWORD = 'correct horse battery staple';
const orgId = await ctx.createOrg();
const memberId = randomUUID();
const email = 'owner@example.com';
await addMember(services, operator(orgId), { orgId, memberId, email, role: 'owner' });
const owner = await issueCredential(services, operator(orgId), { orgId, label: email, kind: 'member', memberId, role: 'owner' });
await setMemberPassword(services, { orgId, memberId, email, password: PASSWORD });
await settle(ctx);

t.test("GET /audit/state of a credential stream redacts the token's hash", async (t) => {
  const res = await app.inject({
    method: 'GET',
    url: `/api/internal/v1/audit/state?stream=credential-${owner.id}&asOf=${encodeURIComponent(services.clock().toISOString())}`,
    headers: { authorization: `Bearer ${owner.token}` },
  });
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.json().state.data.tokenHash, '[redacted]');
  t.notMatch(res.body, /[0-9a-f]{64}/, 'no hash anywhere in the answer');
});

t.test("signing in drops the browser's previous session", async (t) => {
  const signIn = (cookie?: string) =>
    app.inject({
      method: 'POST',
      url: '/app/session',
      payload: { email, password: PASSWORD },
      ...(cookie && { cookies: { cs_session: cookie } }),
    });
  const cookieOf = (res: Awaited<ReturnType<typeof signIn>>) => /cs_session=([^;]+)/.exec(String(res.headers['set-cookie']))![1]!;
  const first = cookieOf(await signIn());
  const second = cookieOf(await signIn(first));
  const me = (cookie: string) => app.inject({ method: 'GET', url: '/app/session', cookies: { cs_session: cookie } });
  t.equal((await me(first)).statusCode, 401, 'the earlier session of this browser ended');
  t.equal((await me(second)).statusCode, 200);
});

t.test('no token reaches a log line, whatever the path (a trailing slash included)', async (t) => {
  const invite = `csi_${'A'.repeat(43)}`;
  t.equal(loggableUrl(`/app/invite/${invite}/`), '/app/invite/csi_[redacted]/');
  t.equal(loggableUrl(`/x?token=cs_member_${'b'.repeat(40)}`), '/x?token=cs_member_[redacted]');
  t.equal(
    loggableUrl('/api/internal/v1/leads/6f1c1f7e-0a6b-4b43-9a57-1b1f1c1f7e0a'),
    '/api/internal/v1/leads/6f1c1f7e-0a6b-4b43-9a57-1b1f1c1f7e0a',
  );

  // The service's logger configuration, through a real fastify request log.
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const { createLogger } = await import('../../src/logger.ts');
  const real = createLogger('info');
  const log = pino(
    { level: 'info', serializers: (real as unknown as { [k: symbol]: Record<string, unknown> })[pino.symbols.serializersSym] as never },
    sink,
  );
  const server = Fastify({ loggerInstance: log });
  server.get('/*', async () => 'page');
  t.teardown(() => server.close());
  await server.inject({ method: 'GET', url: `/app/invite/${invite}/` });
  t.ok(
    lines.some((l) => l.includes('/app/invite/csi_[redacted]/')),
    'the request was logged',
  );
  t.notOk(
    lines.some((l) => l.includes(invite)),
    'without its token',
  );
});
