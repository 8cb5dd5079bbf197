// New calls and texts reaching the team in the browser (CONTRACT §10): the inbox offers notifications (asked
// on a click, not on load), a live missed call or text shows a Notification (also with the tab in the
// background) and counts in the title until the inbox is seen; the on-call settings; axe clean, phone width.
import t from 'tap';
import { daytimeZone, NO_PLACE } from '../support/daytime.ts';
import { checkAccessibility, openBrowser, screenshot, signIn, startWebApp } from './support.ts';

t.setTimeout(600_000);

const BUSINESS = '+15125550100';
const CALLER = `${NO_PLACE}5550111`;
const TEXTER = `${NO_PLACE}5550112`;
const app = await startWebApp(t);
const orgId = await app.org('Acme HVAC', BUSINESS, daytimeZone());
await app.member(orgId, 'dana@acme.test', 'owner');
const context = await openBrowser(t);
// Records every notification the page shows (the real one is made too). Chromium's headless shell has no
// notification platform: `Notification.permission` stays "denied" whatever the context grants, while the
// Permissions API reports the grant. The hook answers as a person's browser does: "default" until the page
// asks, then what the browser context was granted.
await context.addInitScript({
  content: `(() => {
    const Real = window.Notification;
    if (!Real) return;
    window.__shown = [];
    window.__instances = [];
    function Hooked(title, options) {
      window.__shown.push({ title, body: options && options.body, tag: options && options.tag, visibility: document.visibilityState });
      const notification = new Real(title, options);
      window.__instances.push(notification);
      return notification;
    }
    const remembered = () => { try { return sessionStorage.getItem('notifications-asked') === '1'; } catch { return false; } };
    let asked = remembered();
    let granted = 'default';
    const answer = (state) => (state === 'granted' ? 'granted' : state === 'denied' ? 'denied' : 'default');
    navigator.permissions.query({ name: 'notifications' }).then((status) => {
      granted = answer(status.state);
      status.onchange = () => (granted = answer(status.state));
    });
    Object.defineProperty(Hooked, 'permission', { get: () => (asked ? granted : 'default') });
    Hooked.requestPermission = async () => {
      asked = true;
      try { sessionStorage.setItem('notifications-asked', '1'); } catch {}
      granted = answer((await navigator.permissions.query({ name: 'notifications' })).state);
      return granted;
    };
    Hooked.prototype = Real.prototype;
    window.Notification = Hooked;
  })();`,
});
const page = await context.newPage();

type Shown = { title: string; body: string; tag: string; visibility: string };
const shown = () => page.evaluate(() => (globalThis as any).__shown as Shown[]);
async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(value)})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
/** Puts the tab in the background (or back): what the browser reports when another tab or app is in front. */
const background = (hidden: boolean) =>
  page.evaluate((h) => {
    const g = globalThis as any;
    Object.defineProperty(g.document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
    Object.defineProperty(g.document, 'hidden', { configurable: true, get: () => h });
    g.document.hasFocus = () => !h;
    g.document.dispatchEvent(new Event('visibilitychange'));
    if (!h) g.dispatchEvent(new Event('focus'));
  }, hidden);

t.test('the inbox offers notifications on a click, not on load', async (t) => {
  await signIn(page, app.address, 'dana@acme.test');
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();
  t.equal(await page.evaluate(() => (globalThis as any).Notification.permission as string), 'default', 'nothing was asked on load');
  const prompt = page.getByTestId('notify-prompt');
  await prompt.getByRole('button', { name: 'Get notified of new calls' }).waitFor();
  t.equal(await page.title(), 'Inbox — CallSnare');
  await checkAccessibility(t, page, 'inbox with the notification offer');
  await screenshot(page, 'alerts-01-inbox-offer');
  await context.grantPermissions(['notifications'], { origin: app.address });
  await prompt.getByRole('button', { name: 'Get notified of new calls' }).click();
  await prompt.waitFor({ state: 'detached' });
  t.equal(await page.evaluate(() => (globalThis as any).Notification.permission as string), 'granted');
});

t.test('a live missed call in a background tab: a notification and "(1) Inbox — CallSnare"; a text makes it (2)', async (t) => {
  await page.getByTestId('live-indicator').and(page.locator('[data-state="live"]')).waitFor();
  await background(true);
  t.equal(await app.missedCall(CALLER, BUSINESS), 200);
  const [call] = await eventually(shown, (s) => s.length === 1, 'a notification');
  t.match(call, { title: 'Missed call from (555) 555-0111', body: /call or text back/, visibility: 'hidden' });
  t.match(call!.tag, /^lead-[0-9a-f-]{36}$/);
  await eventually(
    () => page.title(),
    (title) => title === '(1) Inbox — CallSnare',
    'the unread count in the title',
  );
  t.equal(await app.text(TEXTER, BUSINESS, 'Is anyone available to look at my AC today?'), 200);
  const texts = await eventually(shown, (s) => s.length === 2, 'a second notification');
  t.match(texts[1], { title: 'New text from (555) 555-0112', body: 'Is anyone available to look at my AC today?' });
  await eventually(
    () => page.title(),
    (title) => title === '(2) Inbox — CallSnare',
    'two unread',
  );
  await screenshot(page, 'alerts-02-inbox-unread');
});

t.test('looking at the inbox again clears the count; arrivals while looking notify without counting', async (t) => {
  await background(false);
  await eventually(
    () => page.title(),
    (title) => title === 'Inbox — CallSnare',
    'the count cleared',
  );
  t.equal(await app.missedCall(`${NO_PLACE}5550113`, BUSINESS), 200);
  await eventually(shown, (s) => s.length === 3, 'a third notification');
  t.equal(await page.title(), 'Inbox — CallSnare', 'seen at once: nothing unread');
  await page.getByTestId('lead-list').getByRole('link').nth(2).waitFor();
  await checkAccessibility(t, page, 'inbox after live arrivals');
  await screenshot(page, 'alerts-03-inbox-seen');
});

t.test('on another page the count grows; clicking a notification opens the thread', async (t) => {
  await page.getByRole('link', { name: 'Calendar' }).click();
  await page.waitForURL(/\/app\/calendar/);
  t.equal(await page.title(), 'Calendar — CallSnare');
  t.equal(await app.text(CALLER, BUSINESS, 'Calling again about the furnace'), 200);
  await eventually(shown, (s) => s.length === 4, 'a fourth notification');
  await eventually(
    () => page.title(),
    (title) => title === '(1) Calendar — CallSnare',
    'unread while on the calendar',
  );
  // A click on the notification reaches its onclick: do what the browser does.
  const tag = (await shown())[3]!.tag;
  await page.evaluate(() => (globalThis as any).__instances.at(-1).onclick());
  await page.waitForURL(new RegExp(`/app/${tag.replace('lead-', 'leads/')}$`));
  await page.locator('.bubble-row.customer').filter({ hasText: 'Calling again about the furnace' }).waitFor();
  await eventually(
    () => page.title(),
    (title) => title === 'Inbox — CallSnare',
    'seen in the inbox',
  );
  await screenshot(page, 'alerts-04-thread-from-notification');
});

t.test('settings: on-call phones and round-robin, saved and shown; axe clean; phone width', async (t) => {
  await page.goto(`${app.address}/app/settings`);
  const form = page.getByTestId('team-alerts');
  await form.waitFor();
  await form.getByLabel('On-call phones').fill('+1 (512) 555-0199\n+15125550198');
  await form.getByLabel('Owners, admins and members in turn (round-robin)').check();
  await form.getByRole('button', { name: 'Save alerts and assignment' }).click();
  await form.getByText('Saved.').waitFor();
  const settings = await page.evaluate(
    async () => ((await (await fetch('/api/internal/v1/settings')).json()) as { settings: Record<string, unknown> }).settings,
  );
  t.same(settings.onCallPhones, ['+15125550199', '+15125550198']);
  t.equal(settings.autoAssign, 'round_robin');
  await form.getByLabel('On-call phones').fill('555-0199');
  await form.getByRole('button', { name: 'Save alerts and assignment' }).click();
  await form.getByRole('alert').waitFor();
  t.match(await form.getByRole('alert').textContent(), /E\.164/, 'a bad number is refused with the reason');
  await checkAccessibility(t, page, 'settings with alerts and assignment');
  await form.screenshot({ path: 'test/artifacts/alerts-05-settings.png' });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${app.address}/app/leads`);
  await page.getByTestId('lead-list').waitFor();
  await checkAccessibility(t, page, 'inbox at phone width');
  await screenshot(page, 'alerts-06-inbox-phone');
  t.pass();
});
