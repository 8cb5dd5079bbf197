// Who may do what in the web app, enforced by the server: throttled sign-in, CSRF, roles, tenancy,
// sign-out, and single-use invites — each seen in a real browser.
import t from 'tap';
import { checkAccessibility, openBrowser, PASSWORD, screenshot, signIn, startWebApp } from './support.ts';

// A real browser on a loaded 2-core machine: more room than tap's default per-file limit.
t.setTimeout(600_000);

const BUSINESS_A = '+15125550100';
const BUSINESS_B = '+15125550111';
const app = await startWebApp(t);
const orgA = await app.org('Acme HVAC', BUSINESS_A);
const orgB = await app.org('Borealis Heating', BUSINESS_B);
const owner = await app.member(orgA, 'owner@acme.test', 'owner');
await app.member(orgA, 'member@acme.test', 'member');
await app.member(orgA, 'auditor@acme.test', 'auditor');
await app.member(orgA, 'locked@acme.test', 'member');
await app.member(orgB, 'member@borealis.test', 'member');
const context = await openBrowser(t);
const page = await context.newPage();

async function leadOf(token: string, phone: string): Promise<{ id: string; status: string }> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await fetch(`${app.address}/api/internal/v1/leads?status=all&limit=200`, { headers: { authorization: `Bearer ${token}` } });
    const lead = ((await res.json()) as { data?: { id: string; status: string; callerPhone: string }[] }).data?.find(
      (l) => l.callerPhone === phone,
    );
    if (lead) return lead;
    if (Date.now() > deadline) throw new Error(`no lead for ${phone}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

if ((await app.missedCall('+15125550201', BUSINESS_A)) !== 200 || (await app.missedCall('+15125550202', BUSINESS_B)) !== 200)
  throw new Error('webhook refused');
const leadA = await leadOf(owner.token, '+15125550201');
const ownerB = await app.member(orgB, 'owner@borealis.test', 'owner');
const leadB = await leadOf(ownerB.token, '+15125550202');

const signOutAll = () => context.clearCookies();

t.test('sign-in is throttled per account: after 5 failures even the right password waits', async (t) => {
  await signOutAll();
  for (let i = 0; i < 5; i++) {
    await signIn(page, app.address, 'locked@acme.test', `wrong password ${i}`);
    await page.getByTestId('sign-in-error').getByText('wrong email or password').waitFor();
  }
  await signIn(page, app.address, 'locked@acme.test', PASSWORD);
  await page
    .getByTestId('sign-in-error')
    .getByText(/too many failed sign-ins/)
    .waitFor();
  t.equal((await context.cookies(app.address)).filter((c) => c.name === '__Host-cs_session').length, 0, 'no session was started');
  await screenshot(page, '20-sign-in-throttled');
  // Another account from the same address is not locked out by someone else's failures.
  await signIn(page, app.address, 'member@acme.test');
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();
});

t.test('forgot your password: the sign-in page asks for the email and answers the same for any address', async (t) => {
  await signOutAll();
  await page.goto(`${app.address}/app`);
  await page.getByRole('button', { name: 'Forgot your password?' }).click();
  await page.getByLabel('Email').fill('member@acme.test');
  await page.getByRole('button', { name: 'Email me a link' }).click();
  await page
    .getByTestId('reset-sent')
    .getByText(/If member@acme.test signs in here, a link to choose a new password is on its way/)
    .waitFor();
  t.equal((await context.cookies(app.address)).filter((c) => c.name === '__Host-cs_session').length, 0, 'no session, no link on the page');
  await page.getByRole('button', { name: 'Back to sign in' }).click();
  await page.getByRole('heading', { name: 'Sign in to CallSnare' }).waitFor();
});

t.test('a state-changing request with the session cookie but without its CSRF token is 403 and changes nothing', async (t) => {
  await signOutAll();
  await signIn(page, app.address, 'member@acme.test');
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();
  const url = `${app.address}/api/internal/v1/leads/${leadA.id}/status`;
  const missing = await page.request.post(url, { data: { status: 'won', reason: 'forged' } });
  t.equal(missing.status(), 403);
  t.equal((await missing.json()).code, 'csrf_failed');
  const wrong = await page.request.post(url, { data: { status: 'won' }, headers: { 'x-csrf-token': 'not-the-token' } });
  t.equal(wrong.status(), 403);
  const lead = await leadOf(owner.token, '+15125550201');
  t.equal(lead.status, 'active', 'nothing changed');
  const { csrfToken } = (await (await page.request.get(`${app.address}/app/session`)).json()) as { csrfToken: string };
  const ok = await page.request.post(url, { data: { status: 'lost', reason: 'went elsewhere' }, headers: { 'x-csrf-token': csrfToken } });
  t.equal(ok.status(), 200, 'with the token the same request works');
});

t.test('a member cannot open settings: the server says 403 and the page says why', async (t) => {
  await signOutAll();
  await signIn(page, app.address, 'member@acme.test');
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();
  const api = await page.request.get(`${app.address}/api/internal/v1/settings`);
  t.equal(api.status(), 403);
  await page.goto(`${app.address}/app/settings`);
  await page.getByTestId('forbidden').waitFor();
  t.match(await page.getByTestId('forbidden').textContent(), /403.*member/s);
  t.equal(await page.getByRole('link', { name: 'Settings' }).count(), 0, 'no settings link for a member');
  await checkAccessibility(t, page, 'forbidden');
  await screenshot(page, '21-member-settings-forbidden');
});

t.test("another org's lead URL shows the not-found page", async (t) => {
  await page.goto(`${app.address}/app/leads/${leadB.id}`);
  await page.getByRole('heading', { name: 'Not found' }).waitFor();
  const api = await page.request.get(`${app.address}/api/internal/v1/leads/${leadB.id}`);
  t.equal(api.status(), 404);
  await screenshot(page, '22-other-org-lead-not-found');
});

t.test('sign out ends the session on the server; sign out everywhere ends them all', async (t) => {
  const before = (await context.cookies(app.address)).find((c) => c.name === '__Host-cs_session')!.value;
  await page.goto(`${app.address}/app/leads`);
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('heading', { name: 'Sign in to CallSnare' }).waitFor();
  const replay = await fetch(`${app.address}/app/session`, { headers: { cookie: `__Host-cs_session=${before}` } });
  t.equal(replay.status, 401, 'the old cookie no longer works');

  await signIn(page, app.address, 'member@acme.test');
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();
  const other = await fetch(`${app.address}/app/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'member@acme.test', password: PASSWORD }),
  });
  const otherCookie = /cs_session=([^;]+)/.exec(other.headers.get('set-cookie') ?? '')![1]!;
  await page.getByRole('button', { name: 'Sign out everywhere' }).click();
  await page.getByRole('heading', { name: 'Sign in to CallSnare' }).waitFor();
  const elsewhere = await fetch(`${app.address}/app/session`, { headers: { cookie: `__Host-cs_session=${otherCookie}` } });
  t.equal(elsewhere.status, 401, 'the session on the other device ended too');
});

t.test('an auditor sees the timeline and cannot change anything', async (t) => {
  await signOutAll();
  await signIn(page, app.address, 'auditor@acme.test');
  await page.getByRole('heading', { name: 'Audit timeline' }).waitFor();
  await page.getByTestId('audit-events').getByRole('cell', { name: 'MissedCallRecorded' }).first().waitFor();
  t.equal(await page.getByRole('link', { name: 'Inbox' }).count(), 0, 'no inbox link for an auditor');
  await page.locator('#audit-stream').fill(`lead-${leadA.id}`);
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.getByTestId('audit-events').getByRole('cell', { name: 'LeadStatusChanged' }).first().waitFor();
  t.equal(
    await page
      .getByTestId('audit-events')
      .getByRole('cell', { name: `lead-${leadA.id}` })
      .count(),
    await page.getByTestId('audit-events').locator('tbody tr').count(),
    'only that stream',
  );
  await page.locator('#state-stream').fill(`lead-${leadA.id}`);
  await page.getByRole('button', { name: 'Show state' }).click();
  await page.getByTestId('stream-state').waitFor();
  await checkAccessibility(t, page, 'audit (auditor)');
  await screenshot(page, '23-auditor-audit');

  const { csrfToken } = (await (await page.request.get(`${app.address}/app/session`)).json()) as { csrfToken: string };
  const headers = { 'x-csrf-token': csrfToken };
  const move = await page.request.post(`${app.address}/api/internal/v1/leads/${leadA.id}/status`, { data: { status: 'won' }, headers });
  t.equal(move.status(), 403, 'the server refuses a status move');
  const reply = await page.request.post(`${app.address}/api/internal/v1/leads/${leadA.id}/messages`, {
    data: { body: 'hello', clientMessageId: crypto.randomUUID() },
    headers,
  });
  t.equal(reply.status(), 403, 'the server refuses a reply');
  const settings = await page.request.put(`${app.address}/api/internal/v1/settings`, { data: { crewCapacity: 9 }, headers });
  t.equal(settings.status(), 403, 'the server refuses a settings change');
  t.equal((await leadOf(owner.token, '+15125550201')).status, 'lost', 'the lead is unchanged');
  await page.goto(`${app.address}/app/leads/${leadA.id}`);
  await page.getByTestId('forbidden').waitFor();
  await screenshot(page, '24-auditor-lead-forbidden');
});

t.test('an invite link lets a person choose a password once', async (t) => {
  await signOutAll();
  const out = JSON.parse(
    await app.cli(['member', 'invite', '--org', orgA, '--email', 'new.dispatcher@acme.test', '--role', 'member', '--json']),
  ) as { url: string };
  const link = new URL(out.url);
  t.match(link.pathname, /^\/app\/invite\/csi_/);
  const local = `${app.address}${link.pathname}`;
  await page.goto(local);
  await page.getByText('Signing in as new.dispatcher@acme.test.').waitFor();
  await checkAccessibility(t, page, 'invite');
  await screenshot(page, '25-invite');
  await page.getByLabel('New password (at least 10 characters)').fill('a long new password');
  await page.getByLabel('Repeat it').fill('a long new password');
  await page.getByRole('button', { name: 'Set password and sign in' }).click();
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();
  await signOutAll();
  await page.goto(local);
  await page.getByRole('heading', { name: 'This invite link no longer works' }).waitFor();
  await signIn(page, app.address, 'new.dispatcher@acme.test', 'a long new password');
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();
  const session = (await context.cookies(app.address)).find((c) => c.name === '__Host-cs_session')!.value;
  const logs = app.logs();
  t.match(logs, /"msg":"signed in"/, 'the server logged requests');
  t.notOk(logs.includes(link.pathname.split('/').at(-1)!), 'the invite token is not logged');
  t.notOk(logs.includes('a long new password') || logs.includes(PASSWORD), 'no password is logged');
  t.notOk(logs.includes(session), 'the session id is not logged');
});

t.test('the CLI refuses a short password and an email that signs in to another org, recording nothing', async (t) => {
  await t.rejects(
    app.cli(['member', 'create', '--org', orgA, '--email', 'short@acme.test', '--role', 'member', '--password-stdin'], 'short\n'),
    /at least 10 characters/,
  );
  await t.rejects(
    app.cli(['member', 'invite', '--org', orgA, '--email', 'member@borealis.test', '--role', 'member']),
    /already signs in to another org/,
  );
  const { rows } = await app.database.pool.query(
    `select count(*)::int as n from es_events where event_type = 'MemberAdded' and data->>'email' in ('short@acme.test', 'member@borealis.test')`,
  );
  t.equal(rows[0].n, 1, 'only the Borealis membership exists');
});
