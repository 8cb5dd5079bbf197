// Installable on a phone (CONTRACT §10, issue 27 item 5) in a real browser at phone width: the manifest is
// served and linked, the service worker registers and controls the page after a reload, and with the
// browser offline the app shows it, disables what would change things, and a reload still opens the app
// shell from the worker's cache — without asking the server — while the session, the API and the live feed
// are never cached. Axe clean throughout.
import t from 'tap';
import { clientSourceHash } from '../../bin/build-client.js';
import { daytimeZone, NO_PLACE } from '../support/daytime.ts';
import { PASSWORD, checkAccessibility, openBrowser, screenshot, signIn, startWebApp } from './support.ts';

t.setTimeout(Number(process.env.PWA_TIMEOUT ?? 600_000));

const BUSINESS = '+15125550100';
const CALLER = `${NO_PLACE}5550131`;
const app = await startWebApp(t);
const orgId = await app.org('Acme HVAC', BUSINESS, daytimeZone());
const dana = await app.member(orgId, 'dana@acme.test', 'owner');
const otherOrg = await app.org('Borealis Heating', '+15125550111', daytimeZone());
await app.member(otherOrg, 'kim@borealis.test', 'member');

/** A session cookie of `email`, signed in through the API as the page does. */
async function sessionCookie(email: string): Promise<string> {
  const res = await fetch(`${app.address}/app/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: app.address },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  if (res.status !== 200 && res.status !== 201) throw new Error(`sign-in answered ${res.status}`);
  return res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
}

/** Width and height from a PNG's header. */
const pngSize = (bytes: Buffer) => ({ width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) });

t.test('anyone may fetch the manifest, the worker and the icons: the same bytes with or without a session', async (t) => {
  const kim = await sessionCookie('kim@borealis.test');
  const get = (path: string, cookie?: string) => fetch(`${app.address}${path}`, { headers: cookie ? { cookie } : {} });

  const manifest = await get('/app/manifest.webmanifest');
  t.equal(manifest.status, 200);
  t.match(manifest.headers.get('content-type'), /^application\/manifest\+json/);
  t.equal(manifest.headers.get('cache-control'), 'no-cache');
  const body = (await manifest.json()) as Record<string, any>;
  t.match(body, { name: 'CallSnare', short_name: 'CallSnare', start_url: '/app/leads', scope: '/app/', display: 'standalone' });
  t.match(body.theme_color, /^#[0-9a-f]{6}$/);
  t.same(
    body.icons.filter((i: { type: string }) => i.type === 'image/png').map((i: { sizes: string }) => i.sizes),
    ['192x192', '512x512', '512x512'],
  );
  for (const icon of body.icons as { src: string; sizes: string; type: string }[]) {
    const res = await get(icon.src);
    t.equal(res.status, 200, icon.src);
    t.equal(res.headers.get('content-type'), icon.type);
    t.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const bytes = Buffer.from(await res.arrayBuffer());
    t.ok(bytes.length < 20_000, `${icon.src} is small (${bytes.length} bytes)`);
    if (icon.type === 'image/png') {
      const [w, h] = icon.sizes.split('x').map(Number);
      t.same(pngSize(bytes), { width: w, height: h }, `${icon.src} is ${icon.sizes}`);
    }
  }

  const sw = await get('/app/sw.js');
  t.equal(sw.status, 200);
  t.equal(sw.headers.get('content-type'), 'text/javascript; charset=utf-8');
  t.equal(sw.headers.get('service-worker-allowed'), '/app/');
  t.equal(sw.headers.get('cache-control'), 'no-cache');
  t.match(sw.headers.get('content-security-policy'), /connect-src 'self'/);
  const script = await sw.text();
  t.match(script, await clientSourceHash(), "the worker is versioned by the client build's hash");

  // Nothing of any org is in them: a signed-in member of another org gets exactly the same.
  t.equal(await (await get('/app/sw.js', kim)).text(), script);
  t.same(await (await get('/app/manifest.webmanifest', kim)).json(), body);

  const missing = await get('/app/icons/nope.png');
  t.equal(missing.status, 404);
  t.match(missing.headers.get('content-type'), /application\/problem\+json/);
  t.equal((await get('/app/icons/..%2Fmanifest.json')).status, 400, 'only icon names, no paths');
});

const context = await openBrowser(t);
const page = await context.newPage();
await page.setViewportSize({ width: 390, height: 844 });
let leadId = '';

t.test('the page links the manifest; the service worker registers and controls the page after a reload', async (t) => {
  t.equal(await app.missedCall(CALLER, BUSINESS), 200);
  await signIn(page, app.address, 'dana@acme.test');
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();
  const row = page.getByTestId('lead-list').getByRole('link').first();
  await row.waitFor({ timeout: 15_000 });
  t.equal(await page.locator('link[rel="manifest"]').getAttribute('href'), '/app/manifest.webmanifest');
  t.match(await page.locator('meta[name="theme-color"]').getAttribute('content'), /^#[0-9a-f]{6}$/);
  // In the page (browser globals), hence the loose typing.
  const registration = () =>
    page.evaluate(async () => {
      const found = await (globalThis as any).navigator.serviceWorker.getRegistration('/app/leads');
      return found?.active ? (found.scope as string) : undefined;
    });
  let registered: string | undefined;
  for (let i = 0; i < 100 && !registered; i++) registered = (await registration()) ?? (await page.waitForTimeout(100), undefined);
  t.equal(registered, `${app.address}/app/`, 'registered and active for /app/');
  await row.click();
  await page.waitForURL(/\/app\/leads\/[0-9a-f-]{36}/);
  leadId = /\/app\/leads\/([0-9a-f-]{36})/.exec(page.url())![1]!;
  // The sign-in page opened at /app, outside the scope /app/ (a page belongs to the worker of the URL it
  // was loaded at); the reload at the lead's URL is inside it.
  await page.reload();
  await page.getByLabel('Reply by text').waitFor();
  t.equal(
    await page.evaluate(async () => (await (globalThis as any).navigator.serviceWorker.ready).scope as string),
    `${app.address}/app/`,
    'the worker is ready',
  );
  t.ok(await page.evaluate(() => (globalThis as any).navigator.serviceWorker.controller !== null), 'the worker controls the page');

  // The cache holds this build's shell only: never the session, the API or the live feed.
  const cached = await page.evaluate(async () => {
    const { caches } = globalThis as any;
    const names: string[] = await caches.keys();
    const urls: string[] = [];
    for (const name of names) for (const r of await (await caches.open(name)).keys()) urls.push(new URL(r.url).pathname);
    return { names, urls };
  });
  t.same(cached.names, [`callsnare-shell-${await clientSourceHash()}`]);
  t.ok(cached.urls.includes('/app'), 'the page shell');
  t.ok(
    cached.urls.some((u) => /^\/app\/assets\/.+\.js$/.test(u)),
    'the bundle',
  );
  t.same(
    cached.urls.filter((u) => !/^\/app(\/assets\/[^/]+|\/icons\/[^/]+|\/manifest\.webmanifest)?$/.test(u)),
    [],
    'nothing but the shell',
  );
  await checkAccessibility(t, page, 'conversation, installed, phone width');
});

/** Requests the server logged for `path` (serve logs each request). */
const served = (path: string) =>
  app
    .logs()
    .split('\n')
    .filter((line) => line.includes(`"url":"${path}"`)).length;

t.test('offline: the app says so and disables what would change things; back online it works again', async (t) => {
  const send = page.getByRole('button', { name: 'Send text' });
  await page.getByLabel('Reply by text').fill('On our way at 3 PM');
  t.ok(await send.isEnabled(), 'a reply is ready to send');
  await context.setOffline(true);
  await page.getByTestId('offline-banner').waitFor();
  t.match(await page.getByTestId('offline-banner').textContent(), /Offline/);
  t.ok(await page.getByLabel('Reply by text').isDisabled(), 'the reply box is disabled');
  t.ok(await send.isDisabled(), 'Send text is disabled');
  t.ok(await page.getByRole('button', { name: 'Sign out', exact: true }).isDisabled());
  const enabled = await page.locator('main button:enabled, main textarea:enabled, main select:enabled, main input:enabled').count();
  t.equal(enabled, 0, 'no control that changes things is enabled');
  await checkAccessibility(t, page, 'conversation offline');
  await screenshot(page, 'pwa-01-conversation-offline-phone');
  // A change that got past the page would meet no worker answering for it: the network is off for it.
  const refused = await page.evaluate(async (id) => {
    try {
      await fetch(`/api/internal/v1/leads/${id}/messages`, { method: 'POST' });
      return 'sent';
    } catch {
      return 'failed';
    }
  }, leadId);
  t.equal(refused, 'failed', 'the network is really off for the page');

  await context.setOffline(false);
  await page.getByTestId('offline-banner').waitFor({ state: 'detached', timeout: 15_000 });
  t.ok(await send.isEnabled(), 'Send text is enabled again');
  t.equal(await page.getByLabel('Reply by text').inputValue(), 'On our way at 3 PM', 'the draft is kept');
  t.equal(served(`/api/internal/v1/leads/${leadId}/messages`), 0, 'nothing was sent while offline');
});

t.test('a reload while offline opens the app shell from the cache, in its offline state', async (t) => {
  await context.setOffline(true);
  const before = served(`/app/leads/${leadId}`);
  await page.reload();
  await page.getByTestId('offline-shell').waitFor();
  t.equal(served(`/app/leads/${leadId}`), before, 'the page came from the worker, not the server');
  t.match(await page.getByTestId('offline-banner').textContent(), /Offline/);
  t.ok(await page.getByRole('heading', { name: 'You’re offline' }).isVisible());
  t.ok(await page.getByRole('button', { name: 'Sign out' }).isDisabled(), 'actions are disabled');
  t.equal(await page.locator('button:enabled, textarea:enabled, input:enabled').count(), 0);
  await checkAccessibility(t, page, 'app shell offline');
  await screenshot(page, 'pwa-02-shell-offline-phone');

  await context.setOffline(false);
  await page.getByLabel('Reply by text').waitFor({ timeout: 20_000 });
  t.equal(await page.getByTestId('offline-banner').count(), 0, 'back online, the lead opens by itself');
  await screenshot(page, 'pwa-03-back-online-phone');
});

t.test('the settings page sets the text-back cooldown (CONTRACT §10)', async (t) => {
  await page.goto(`${app.address}/app/settings`);
  const field = page.getByLabel(/^Text-back cooldown/);
  t.equal(await field.inputValue(), '60', 'one text-back per hour by default');
  await field.fill('30');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.getByText('Saved.').waitFor();
  // The settings read model follows the write within moments.
  let cooldown: number | undefined;
  for (let i = 0; i < 60 && cooldown !== 30; i++, await new Promise((r) => setTimeout(r, 250))) {
    const res = await fetch(`${app.address}/api/internal/v1/settings`, { headers: { authorization: `Bearer ${dana.token}` } });
    cooldown = ((await res.json()) as { settings: { textBackCooldownMinutes: number } }).settings.textBackCooldownMinutes;
  }
  t.equal(cooldown, 30);
  await checkAccessibility(t, page, 'settings at phone width');
});
