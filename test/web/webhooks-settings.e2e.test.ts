// Outbound webhooks in the web app's settings, in a real browser: an admin adds an endpoint and sees its
// secret once, sees delivery health and the banner of a disabled endpoint, and removes one.
import { sql } from 'kysely';
import t from 'tap';
import { checkAccessibility, openBrowser, screenshot, signIn, startWebApp } from './support.ts';

t.setTimeout(600_000);

const app = await startWebApp(t);
const orgId = await app.org('Acme HVAC', '+15125550100');
await app.member(orgId, 'admin@acme.test', 'admin');
const context = await openBrowser(t);
const page = await context.newPage();

// Public addresses (never contacted: no event of this org matches before the test ends).
const FIRST = 'https://93.184.215.14/hooks/crm';
const SECOND = 'https://93.184.215.15/hooks/dispatch';

t.test('an admin adds an endpoint in settings: the secret is shown once, the list shows it with its health', async (t) => {
  await signIn(page, app.address, 'admin@acme.test');
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();
  await page.goto(`${app.address}/app/settings`);
  const section = page.getByRole('region', { name: 'Webhooks' });
  await section.waitFor();
  await section.getByLabel('URL (https://…)').fill(FIRST);
  await section.getByLabel('booking.canceled').check();
  await section.getByRole('button', { name: 'Add endpoint' }).click();
  const secret = await section.getByTestId('webhook-secret').textContent();
  t.match(secret, /^whsec_[A-Za-z0-9+/=]{40,}$/);
  const row = section.getByTestId('webhook-endpoint').filter({ hasText: FIRST });
  await row.waitFor();
  t.match(await row.textContent(), /booking\.created, booking\.canceled/);
  t.notOk((await section.getByRole('table').textContent())?.includes(secret!), 'the table never shows the secret');
  await checkAccessibility(t, page, 'settings with webhooks');
  await screenshot(page, '60-settings-webhooks');

  await page.reload();
  await section.getByTestId('webhook-endpoint').first().waitFor();
  t.equal(await section.getByTestId('webhook-secret').count(), 0, 'after a reload the secret is gone for good');
});

t.test('rotating a secret in settings shows the new one once; the old one keeps signing for 24 hours', async (t) => {
  const section = page.getByRole('region', { name: 'Webhooks' });
  const before = await app.database.db
    .selectFrom('webhook_endpoints')
    .select(['secret'])
    .where('url', '=', FIRST)
    .executeTakeFirstOrThrow();
  await section.getByRole('button', { name: `Rotate secret of ${FIRST}` }).click();
  const status = section.getByRole('status').filter({ hasText: 'New signing secret' });
  await status.waitFor();
  t.match(await status.textContent(), /previous secret keeps signing beside it for 24 hours/);
  const secret = await section.getByTestId('webhook-secret').textContent();
  t.match(secret, /^whsec_[A-Za-z0-9+/=]{40,}$/);
  const after = await sql<{ secret: string; previous_secret: string | null; hours: number }>`
    select secret, previous_secret, extract(epoch from previous_secret_expires_at - now()) / 3600 as hours
      from webhook_endpoints where url = ${FIRST}`.execute(app.database.db);
  t.equal(after.rows[0]!.previous_secret, before.secret, 'the old secret is kept');
  t.not(after.rows[0]!.secret, before.secret);
  t.ok(after.rows[0]!.hours > 23.9 && after.rows[0]!.hours <= 24, `the old one expires in ${after.rows[0]!.hours} h`);
  await checkAccessibility(t, page, 'settings after a secret rotation');
  await page.reload();
  await section.getByTestId('webhook-endpoint').first().waitFor();
  t.equal(await section.getByTestId('webhook-secret').count(), 0, 'shown once');
});

t.test('an endpoint disabled after failing for days shows a banner; removing one takes it off the list', async (t) => {
  const section = page.getByRole('region', { name: 'Webhooks' });
  await section.getByLabel('URL (https://…)').fill(SECOND);
  await section.getByRole('button', { name: 'Add endpoint' }).click();
  await section.getByTestId('webhook-endpoint').filter({ hasText: SECOND }).waitFor();
  // As the delivery task leaves an endpoint it disabled (the disable itself is tested with a real receiver).
  await sql`update webhook_endpoints set status = 'disabled', disabled_at = now(), failures_in_a_row = 12, last_status = 500 where url = ${SECOND}`.execute(
    app.database.db,
  );
  await page.reload();
  const banner = section.getByTestId('webhook-disabled-banner');
  await banner.waitFor();
  t.match(await banner.textContent(), /hooks\/dispatch failed for 5 days/);
  t.match(await section.getByTestId('webhook-endpoint').filter({ hasText: SECOND }).textContent(), /500.*12.*disabled/);
  await screenshot(page, '61-settings-webhook-disabled');

  await section.getByRole('button', { name: `Remove ${FIRST}` }).click();
  await section.getByTestId('webhook-endpoint').filter({ hasText: FIRST }).waitFor({ state: 'detached' });
  t.equal(await section.getByTestId('webhook-endpoint').count(), 1);
});
