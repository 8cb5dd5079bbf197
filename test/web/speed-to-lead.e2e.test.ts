// The inbox of a real office (CONTRACT §10) in a real browser: Mine / Unassigned / All with counts, a reply
// assigning the lead to the replier, assigning a teammate, and the thread as a conversation with each
// text's delivery state from Twilio's status callbacks; at desktop and phone width, axe clean.
import t from 'tap';
import { daytimeZone, NO_PLACE } from '../support/daytime.ts';
import { inboundSms, messageStatus, sid, twilioSignature } from '../webhooks/fixtures/providers.ts';
import { checkAccessibility, openBrowser, screenshot, signIn, startWebApp } from './support.ts';

t.setTimeout(600_000);

const BUSINESS = '+15125550100';
// Numbers of no place: their texts follow the org's zone, where it is midday (no quiet-hours deferral).
const CALLERS = [`${NO_PLACE}5550101`, `${NO_PLACE}5550102`, `${NO_PLACE}5550103`];
const app = await startWebApp(t);
const orgId = await app.org('Acme HVAC', BUSINESS, daytimeZone());
const dana = await app.member(orgId, 'dana@acme.test', 'owner');
await app.member(orgId, 'sam@acme.test', 'member'); // a teammate to assign leads to
const context = await openBrowser(t);
const page = await context.newPage();

type Json = Record<string, any>;
const api = async (path: string, init: { method?: string; body?: unknown } = {}) => {
  const res = await fetch(`${app.address}/api/internal/v1${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${dana.token}`, ...(init.body !== undefined && { 'content-type': 'application/json' }) },
    ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
  });
  return { status: res.status, body: (await res.json()) as Json };
};
async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
async function twilioPost(path: string, params: Record<string, string>) {
  const res = await fetch(`${app.address}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilioSignature(path, params) },
    body: new URLSearchParams(params).toString(),
  });
  return res.status;
}
const filter = (name: string) => page.getByTestId('assignee-filters').getByRole('link', { name: new RegExp(`^${name} `) });
const countOf = async (name: string) => Number((await filter(name).locator('.count').textContent())?.trim());

const leadIds: string[] = [];

t.test('three missed calls: all unassigned, none mine', async (t) => {
  for (const caller of CALLERS) t.equal(await app.missedCall(caller, BUSINESS), 200);
  const listed = await eventually(
    () => api('/leads?status=all'),
    (r) => r.body.data?.length === 3,
    'three leads',
  );
  for (const caller of CALLERS) leadIds.push(listed.body.data.find((l: Json) => l.callerPhone === caller).id);
  await signIn(page, app.address, 'dana@acme.test');
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();
  await page.getByTestId('lead-list').getByRole('link').nth(2).waitFor();
  t.equal(await countOf('All'), 3);
  t.equal(await countOf('Unassigned'), 3);
  t.equal(await countOf('Mine'), 0);
  t.equal(await page.getByTestId('lead-owner').filter({ hasText: 'Unassigned' }).count(), 3, 'each row says who owns it');
  await checkAccessibility(t, page, 'inbox with assignee filters');
  await screenshot(page, 'stl-01-inbox-unassigned');
});

t.test('replying to an unassigned lead makes it mine; the conversation shows my text on the right', async (t) => {
  await page.goto(`${app.address}/app/leads/${leadIds[0]}`);
  await page.getByTestId('timeline').locator('[data-type="MissedCallRecorded"]').waitFor();
  await page.getByLabel('Reply by text').fill('Hi, this is Acme HVAC. We can come by today, does 3 PM work?');
  await page.getByRole('button', { name: 'Send text' }).click();
  const bubble = page.getByTestId('timeline').locator('.bubble-row.team[data-type="OutboundTextRequested"]');
  await bubble.waitFor({ timeout: 15_000 });
  t.match(await bubble.textContent(), /We can come by today/);
  t.match(await bubble.textContent(), /dana@acme\.test/);
  await eventually(
    () => page.getByLabel('Assigned to').inputValue(),
    (v) => v === dana.memberId,
    'the lead to be assigned to Dana',
  );
  await page.getByTestId('timeline').getByText('Assigned to dana@acme.test (replied first)').waitFor();
  await eventually(countOf.bind(null, 'Mine'), (n) => n === 1, 'Mine (1)');
  t.equal(await countOf('Unassigned'), 2);
  t.match(await page.locator(`#lead-${leadIds[0]}`).getByTestId('lead-owner').textContent(), /You/);
});

t.test("delivery state follows Twilio's status callbacks: sent, then delivered", async (t) => {
  const lead = await eventually(
    () => api(`/leads/${leadIds[0]}`),
    (r) => r.body.timeline?.some((e: Json) => e.type === 'OutboundTextRequested' && e.message?.state === 'sent'),
    'the reply to be sent',
  );
  const reply = lead.body.timeline.find((e: Json) => e.type === 'OutboundTextRequested');
  const state = page.locator('.bubble-row[data-type="OutboundTextRequested"]').getByTestId('delivery');
  await page
    .locator('.bubble-row[data-type="OutboundTextRequested"] [data-testid="delivery"][data-state="sent"]')
    .waitFor({ timeout: 15_000 });
  t.match(await state.textContent(), /Sent/);
  const sms = reply.message.providerMessageId as string;
  t.equal(
    await twilioPost(
      '/webhooks/twilio/message-status',
      messageStatus({ messageSid: sms, from: BUSINESS, to: CALLERS[0]!, status: 'delivered' }),
    ),
    200,
  );
  await page
    .locator('.bubble-row[data-type="OutboundTextRequested"] [data-testid="delivery"][data-state="delivered"]')
    .waitFor({ timeout: 15_000 });
  t.match(await state.textContent(), /Delivered/);
  // The customer answers: a bubble on the left.
  t.equal(
    await twilioPost(
      '/webhooks/twilio/sms',
      inboundSms({ messageSid: sid('SM'), from: CALLERS[0]!, to: BUSINESS, body: '3 works, thank you!' }),
    ),
    200,
  );
  const theirs = page.locator('.bubble-row.customer[data-type="InboundTextReceived"]');
  await theirs.waitFor({ timeout: 15_000 });
  t.match(await theirs.textContent(), /3 works, thank you!/);
  await checkAccessibility(t, page, 'conversation');
  await screenshot(page, 'stl-02-conversation');
});

t.test('a linked booking reads as the visit and opens it', async (t) => {
  const start = new Date(Date.now() + 2 * 86_400_000);
  start.setUTCMinutes(0, 0, 0);
  const created = await api('/bookings', {
    method: 'POST',
    body: {
      leadId: leadIds[0],
      window: { start: start.toISOString(), end: new Date(start.getTime() + 2 * 3_600_000).toISOString() },
      customer: { name: 'Dana Whitfield', phone: CALLERS[0] },
    },
  });
  t.equal(created.status, 201, JSON.stringify(created.body));
  const link = page.getByTestId('timeline').getByRole('link', { name: /^Visit \w{3} \w{3} \d+, \d/ });
  await link.waitFor({ timeout: 15_000 });
  t.notMatch(await page.getByTestId('timeline').textContent(), /[0-9a-f]{8}-[0-9a-f]{4}-/, 'no ids in the conversation');
  await page
    .getByTestId('timeline')
    .getByText(/^Marked Booked/)
    .waitFor();
  await screenshot(page, 'stl-03-conversation-booked');
  await link.click();
  await page.getByRole('heading', { name: /Visit for Dana Whitfield/ }).waitFor();
  t.match(page.url(), new RegExp(`/app/bookings/${created.body.id}$`));
});

t.test('assigning a teammate from the lead page; Mine / Unassigned / All filter the list', async (t) => {
  await page.goto(`${app.address}/app/leads/${leadIds[1]}?status=all`);
  await page.getByLabel('Assigned to').selectOption({ label: 'sam@acme.test' });
  await page.getByTestId('timeline').getByText('Assigned to sam@acme.test').waitFor({ timeout: 15_000 });
  await page.locator(`#lead-${leadIds[1]}`).getByTestId('lead-owner').filter({ hasText: 'sam@acme.test' }).waitFor();
  await filter('Mine').click();
  await page.waitForURL(/assignee=me/);
  await eventually(
    () => page.getByTestId('lead-list').getByRole('link').count(),
    (n) => n === 1,
    'one lead of mine',
  );
  t.ok(await page.locator(`#lead-${leadIds[0]}`).isVisible(), 'mine is the one I replied to');
  await filter('Unassigned').click();
  await page.waitForURL(/assignee=none/);
  await eventually(
    () => page.getByTestId('lead-list').getByRole('link').count(),
    (n) => n === 1,
    'one unassigned lead',
  );
  t.ok(await page.locator(`#lead-${leadIds[2]}`).isVisible());
  t.equal(await countOf('All'), 3);
  await checkAccessibility(t, page, 'inbox filtered');
  await screenshot(page, 'stl-04-inbox-unassigned-filter');
});

t.test('at phone width the conversation is one column and still axe clean', async (t) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${app.address}/app/leads/${leadIds[0]}?status=all`);
  await page.locator('.bubble-row.customer').waitFor();
  await checkAccessibility(t, page, 'conversation at phone width');
  await screenshot(page, 'stl-05-conversation-phone');
  await page.goto(`${app.address}/app/leads?status=all`);
  await page.getByTestId('assignee-filters').waitFor();
  await screenshot(page, 'stl-06-inbox-phone');
  t.pass();
});

t.test(
  'the response timer turns amber at half the target and red when overdue (injected clock); one click logs the call-back',
  async (t) => {
    const lead = (await api(`/leads/${leadIds[2]}`)).body;
    t.ok(lead.firstResponseDueAt, 'the lead has a due time');
    t.equal(lead.firstRespondedAt, null);
    const half = Date.parse(lead.firstResponseHalfAt as string);
    const due = Date.parse(lead.firstResponseDueAt as string);
    await page.setViewportSize({ width: 1280, height: 860 });
    await page.clock.install({ time: half + 1_000 });
    await page.goto(`${app.address}/app/leads/${leadIds[2]}?status=all`);
    const timer = page.locator('.thread-timer').getByTestId('response-timer');
    await timer.and(page.locator('[data-state="half"]')).waitFor();
    t.match(await timer.textContent(), /Reply within \d+ min/);
    t.equal(
      await page.locator(`#lead-${leadIds[2]}`).getByTestId('response-timer').getAttribute('data-state'),
      'half',
      'the list row shows the same timer',
    );
    await screenshot(page, 'stl-07-timer-amber');
    await page.clock.runFor(due - half + 60_000);
    await timer.and(page.locator('[data-state="overdue"]')).waitFor();
    t.match(await timer.textContent(), /Reply overdue by 1 min/);
    await checkAccessibility(t, page, 'lead with an overdue timer');
    await screenshot(page, 'stl-08-timer-red');
    await page.getByRole('button', { name: 'Log a call' }).click();
    await page.getByRole('button', { name: 'No answer' }).click();
    await page.getByTestId('timeline').getByText('dana@acme.test called back: no answer').waitFor({ timeout: 15_000 });
    await timer.waitFor({ state: 'detached' });
    const after = await eventually(
      () => api(`/leads/${leadIds[2]}`),
      (r) => r.body.firstRespondedAt !== null,
      'the call-back to be the first response',
    );
    t.equal(after.body.responseBreached, false, "in time by the server's clock (only the browser's clock was moved)");
    await screenshot(page, 'stl-09-call-logged');
  },
);
