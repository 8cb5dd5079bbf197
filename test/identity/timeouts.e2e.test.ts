// Request and connection timeouts (issue 21 item 12): fastify leaves Node's at 0 (a slow or idle client
// would hold a socket for ever); the server sets them. Stream caps are in feeds-end.e2e.test.ts.
import t from 'tap';
import { testApp } from '../support/app.ts';

const ctx = await testApp(t);

t.test('the listening server has request, connection and keep-alive timeouts', async (t) => {
  await ctx.app.listen({ host: '127.0.0.1', port: 0 });
  const server = ctx.app.server;
  t.equal(server.requestTimeout, 30_000, 'headers and body must arrive within 30 s');
  t.equal(server.timeout, 120_000, 'a silent socket closes after 2 minutes');
  t.equal(server.keepAliveTimeout, 10_000);
});
