// The team's day in a real browser: sign in, a missed call appears live, reply by text, book the visit,
// find it in the calendar, reschedule it (reminders move), and the settings and audit screens.
import { DateTime } from 'luxon';
import t from 'tap';
import { checkAccessibility, openBrowser, screenshot, signIn, startWebApp } from './support.ts';

// A real browser on a loaded 2-core machine: more room than tap's default per-file limit.
t.setTimeout(600_000);

const BUSINESS = '+15125550100';
const CALLER = '+15125550177';
const app = await startWebApp(t);
const orgId = await app.org('Acme HVAC', BUSINESS);
const owner = await app.member(orgId, 'owner@acme.test', 'owner');
const context = await openBrowser(t);
const page = await context.newPage();

const api = async (path: string) => {
  const res = await fetch(`${app.address}/api/internal/v1${path}`, { headers: { authorization: `Bearer ${owner.token}` } });
  return { status: res.status, body: (await res.json()) as any };
};

/** Polls an API read until `ok` holds (the read models are updated asynchronously). */
async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

t.test('a wrong password is refused on the page; the right one opens the inbox', async (t) => {
  await page.goto(`${app.address}/app`);
  await page.getByRole('heading', { name: 'Sign in to CallSnare' }).waitFor();
  await checkAccessibility(t, page, 'sign-in');
  await screenshot(page, '01-sign-in');
  await signIn(page, app.address, 'owner@acme.test', 'not the password');
  await page.getByTestId('sign-in-error').waitFor();
  t.match(await page.getByTestId('sign-in-error').textContent(), /wrong email or password/);
  await screenshot(page, '02-sign-in-wrong-password');
  await signIn(page, app.address, 'owner@acme.test');
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();
  t.match(await page.getByTestId('who').textContent(), /Acme HVAC · owner@acme\.test \(owner\)/);
  const cookie = (await context.cookies(app.address)).find((c) => c.name === '__Host-cs_session');
  t.ok(cookie?.httpOnly, 'the session cookie is HttpOnly');
  t.equal(cookie?.sameSite, 'Lax');
  t.ok(cookie?.secure, 'Secure, as PUBLIC_BASE_URL is https');
});

t.test('a signed missed-call webhook makes the caller appear in the open inbox without a reload', async (t) => {
  const live = page.getByTestId('live-indicator').and(page.locator('[data-state="live"]'));
  await live.waitFor().catch(async (error: unknown) => {
    await app.missedCall(CALLER, BUSINESS);
    throw error;
  });
  await screenshot(page, '03-inbox-empty-live');
  t.equal(await app.missedCall(CALLER, BUSINESS), 200);
  const item = page.getByTestId('lead-list').getByRole('link', { name: /\(512\) 555-0177/ });
  await item.waitFor({ timeout: 15_000 });
  t.ok(await item.isVisible(), 'the new lead is listed live');
  await checkAccessibility(t, page, 'inbox');
  await screenshot(page, '04-inbox-live-missed-call');
});

let leadId = '';

t.test('reply by text from the thread: a double click sends one message', async (t) => {
  const listed = await eventually(
    () => api('/leads?status=all'),
    (r) => r.body.data?.some((l: any) => l.callerPhone === CALLER),
    'the lead',
  );
  leadId = listed.body.data.find((l: any) => l.callerPhone === CALLER).id;
  await page.goto(`${app.address}/app/leads/${leadId}`);
  await page.getByTestId('timeline').locator('[data-type="MissedCallRecorded"]').waitFor();
  await page.getByLabel('Reply by text').fill('Hi, this is Acme HVAC. We can come by tomorrow, does 9 work?');
  await page.getByRole('button', { name: 'Send text' }).dblclick();
  await page.getByTestId('timeline').getByText('We can come by tomorrow').first().waitFor({ timeout: 15_000 });
  const requested = async () =>
    Number(
      (
        await app.database.pool.query(`select count(*) from es_events where stream_id = $1 and event_type = 'OutboundTextRequested'`, [
          `lead-${leadId}`,
        ])
      ).rows[0].count,
    );
  await eventually(requested, (n) => n >= 1, 'the reply to be recorded');
  // Give a second request every chance to land before counting.
  await new Promise((r) => setTimeout(r, 1500));
  t.equal(await requested(), 1, 'one message for a double click');
  await checkAccessibility(t, page, 'lead thread');
  await screenshot(page, '05-lead-thread-after-reply');
});

let bookingId = '';
const visitDay = DateTime.now().setZone('America/Chicago').plus({ weeks: 1 }).startOf('week').plus({ days: 1 });

t.test('book a visit from the thread: the lead is Booked and the visit is in the calendar', async (t) => {
  await page.getByLabel('Customer name').fill('Dana Whitfield');
  await page.getByLabel('Date', { exact: true }).fill(visitDay.toISODate()!);
  await page.getByLabel('From', { exact: true }).fill('09:00');
  await page.getByLabel('To', { exact: true }).fill('11:00');
  await page.getByLabel('What for (optional)').fill('No heat upstairs');
  await page.getByRole('button', { name: 'Book visit' }).click();
  await page.getByRole('heading', { name: /Visit for Dana Whitfield/ }).waitFor();
  bookingId = /\/app\/bookings\/([0-9a-f-]{36})/.exec(page.url())![1]!;
  const lead = await eventually(
    () => api(`/leads/${leadId}`),
    (r) => r.body.status === 'booked',
    'the lead to be booked',
  );
  t.equal(lead.body.status, 'booked');
  await page.goto(`${app.address}/app/leads/${leadId}?status=all`);
  await page.getByTestId('timeline').locator('[data-type="LeadStatusChanged"]').first().waitFor({ timeout: 15_000 });
  await screenshot(page, '06-lead-thread-booked');
  const week = `${visitDay.weekYear}-W${String(visitDay.weekNumber).padStart(2, '0')}`;
  await page.goto(`${app.address}/app/calendar?week=${week}`);
  const slot = page.getByRole('link', { name: /Dana Whitfield/ });
  await slot.waitFor();
  t.match(await slot.textContent(), /9:00 AM–11:00 AM/);
  t.match(await page.getByTestId('zone').textContent(), /America\/Chicago \(C[SD]T\)/, 'the zone is named');
  await checkAccessibility(t, page, 'calendar');
  await screenshot(page, '07-calendar-week');
});

t.test('reschedule from the calendar: the booking moves and its reminders move with it', async (t) => {
  const before = (await api(`/bookings/${bookingId}`)).body;
  await page.getByRole('link', { name: /Dana Whitfield/ }).click();
  await page.getByRole('heading', { name: /Visit for Dana Whitfield/ }).waitFor();
  await page.getByLabel('From', { exact: true }).fill('13:00');
  await page.getByLabel('To', { exact: true }).fill('15:00');
  await page.getByLabel('Reason (optional)').first().fill('customer asked for the afternoon');
  await page.getByRole('button', { name: 'Reschedule' }).click();
  await page.getByText('Rescheduled.').waitFor();
  const newStart = visitDay.set({ hour: 13 }).toUTC();
  const after = (
    await eventually(
      () => api(`/bookings/${bookingId}`),
      (r) =>
        r.body.window?.start === newStart.toISO({ suppressMilliseconds: false }) ||
        Date.parse(r.body.window?.start) === newStart.toMillis(),
      'the new window',
    )
  ).body;
  t.not(after.window.start, before.window.start);
  const due = after.reminders
    .filter((r: any) => r.status === 'scheduled')
    .map((r: any) => Date.parse(r.dueAt))
    .sort();
  t.same(
    due,
    [newStart.minus({ minutes: 1440 }).toMillis(), newStart.minus({ minutes: 120 }).toMillis()],
    'reminders are due before the new window',
  );
  await page
    .getByTestId('booking-window')
    .getByText(/1:00 PM/)
    .waitFor();
  await checkAccessibility(t, page, 'booking');
  await screenshot(page, '08-booking-rescheduled');
});

t.test('settings: an admin sees automation, members and tokens; a new token is shown once', async (t) => {
  await page.goto(`${app.address}/app/settings`);
  await page.getByRole('heading', { name: 'Settings for Acme HVAC' }).waitFor();
  await page.getByLabel('Label (who holds it)').fill('Dispatch board');
  await page.getByRole('button', { name: 'Create token' }).click();
  const secret = await page.getByTestId('token-secret').textContent();
  t.match(secret, /^cs_live_/);
  await checkAccessibility(t, page, 'settings');
  await screenshot(page, '09-settings');
  await page.reload();
  await page.getByRole('heading', { name: 'Settings for Acme HVAC' }).waitFor();
  await page.getByRole('cell', { name: 'Dispatch board', exact: true }).waitFor();
  t.equal(await page.getByTestId('token-secret').count(), 0, 'the secret is not shown again');
});

t.test('audit: the timeline of the org with filters, and a stream state as of now', async (t) => {
  await page.goto(`${app.address}/app/audit`);
  await page.getByTestId('audit-events').getByRole('cell', { name: 'MissedCallRecorded' }).first().waitFor();
  await page.getByLabel('Event type').fill('BookingRescheduled');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.getByTestId('audit-events').getByRole('cell', { name: 'BookingRescheduled' }).first().waitFor();
  t.equal(await page.getByTestId('audit-events').getByRole('cell', { name: 'MissedCallRecorded' }).count(), 0, 'the type filter applies');
  await checkAccessibility(t, page, 'audit');
  await screenshot(page, '10-audit');
});

t.test('a member records an opt-out the caller asked for: badge with when and how, reply box off with the reason', async (t) => {
  const caller = '+15125550178';
  t.equal(await app.missedCall(caller, BUSINESS), 200);
  const listed = await eventually(
    () => api('/leads?status=all'),
    (r) => r.body.data?.some((l: any) => l.callerPhone === caller),
    'the second lead',
  );
  const id = listed.body.data.find((l: any) => l.callerPhone === caller).id;
  await page.goto(`${app.address}/app/leads/${id}`);
  await page.getByTestId('consent').waitFor();
  t.match(await page.getByTestId('consent').textContent(), /allowed in answer to their call or text/);
  await page.getByRole('button', { name: 'Record opt-out' }).click();
  await page.getByRole('button', { name: 'Yes, they asked us to stop texting' }).click();
  await page.getByTestId('opted-out').waitFor({ timeout: 15_000 });
  t.match(await page.getByTestId('opted-out').textContent(), /Opted out of texts .*\(recorded by the team\)/);
  t.ok(await page.getByLabel('Reply by text').isDisabled(), 'the reply box is disabled');
  t.match(await page.locator('#reply-disabled').textContent(), /this caller opted out .*Call them instead/);
  await page
    .getByTestId('lead-list')
    .getByRole('link', { name: /\(512\) 555-0178.*opted out/ })
    .waitFor({ timeout: 15_000 });
  const detail = await api(`/leads/${id}`);
  t.match(detail.body.consent, { status: 'opted_out', source: 'member' });
  await checkAccessibility(t, page, 'opted-out lead');
  await screenshot(page, '11-lead-opted-out');
});

t.test("audit: opt-outs and opt-ins are on the timeline with how they happened, and a consent stream's state folds them", async (t) => {
  const texter = '+15125550179';
  t.equal(await app.text(texter, BUSINESS, 'STOP'), 200);
  t.equal(await app.text(texter, BUSINESS, 'start'), 200);
  await page.goto(`${app.address}/app/audit`);
  const events = page.getByTestId('audit-events');
  await page.getByLabel('Event type').fill('ContactOptedOut');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  const stop = events.getByRole('row').filter({ hasText: `${texter} opted out (keyword: "STOP")` });
  await stop.waitFor({ timeout: 15_000 });
  t.match(await stop.textContent(), /ContactOptedOut.*Twilio \(provider\).*consent-/, 'type, actor and the consent stream');
  const member = events.getByRole('row').filter({ hasText: '+15125550178 opted out (member)' });
  await member.waitFor();
  t.match(await member.textContent(), /ContactOptedOut.*\(team_member\)/, "the member's opt-out names the member");
  t.equal(await events.getByRole('cell', { name: 'ContactOptedIn' }).count(), 0, 'the type filter applies');

  await page.getByLabel('Event type').fill('ContactOptedIn');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  const start = events.getByRole('row').filter({ hasText: `${texter} opted in (keyword: "start")` });
  await start.waitFor({ timeout: 15_000 });
  const stream = (await start.getByRole('button').textContent())!.trim();
  t.match(stream, /^consent-[0-9a-f-]{36}$/);

  await page.getByLabel('Stream', { exact: true }).nth(1).fill(stream);
  await page.getByRole('button', { name: 'Show state' }).click();
  await page.getByTestId('stream-state').waitFor();
  const state = JSON.parse((await page.getByTestId('stream-state').textContent())!) as { revision: number; state: any };
  t.equal(state.revision, 1, 'two events on the stream');
  t.match(state.state, { status: 'opted_in', source: 'keyword', evidence: { body: 'start', by: texter } });
  await checkAccessibility(t, page, 'audit consent');
  await screenshot(page, '11b-audit-consent');
});

t.test('the inbox works at phone width, one pane at a time, with j/k and / from the keyboard', async (t) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${app.address}/app/leads?status=all`);
  await page.getByTestId('lead-list').getByRole('link').first().waitFor();
  await screenshot(page, '11-phone-inbox');
  await page.locator('body').press('j');
  await page.getByTestId('timeline').waitFor();
  t.match(page.url(), /\/app\/leads\/[0-9a-f-]{36}/, 'j opens the first lead');
  await screenshot(page, '12-phone-thread');
  await page.getByRole('link', { name: '← All leads' }).click();
  await page.locator('body').press('/');
  t.equal(await page.evaluate(() => (globalThis as any).document.activeElement?.id), 'lead-search', '/ focuses the search');
  await page.keyboard.type('Dana');
  await page
    .getByTestId('lead-list')
    .getByRole('link', { name: /Dana Whitfield/ })
    .waitFor();
  await page.setViewportSize({ width: 1280, height: 860 });
});
