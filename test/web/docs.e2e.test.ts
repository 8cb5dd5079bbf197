// The docs page (/docs/actions) in a real browser: readable without script, accessible (axe-core: no
// serious or critical violations), and readable on a phone (no sideways scrolling at 375 px).
import path from 'node:path';
import t from 'tap';
import { ARTIFACTS, checkAccessibility, openBrowser, screenshot, startWebApp } from './support.ts';

const app = await startWebApp(t);
const browser = await openBrowser(t);

t.test('the docs page on a desktop and on a phone', async (t) => {
  const page = await browser.newPage();
  await page.goto(`${app.address}/docs/actions`);
  t.equal(await page.title(), 'Docs / Actions — CallSnare');
  t.equal(await page.locator('.card').count(), 12, 'a card per action');
  t.equal(await page.locator('section:has(#live-protected) .card').count(), 6);
  t.equal(await page.locator('section:has(#live-internal) .card').count(), 4);
  t.equal(await page.locator('section:has(#planned) .card').count(), 2);
  t.match(await page.locator('#planned').innerText(), /not callable today/i);
  t.equal(await page.locator('script').count(), 0, 'no script on the page');
  await checkAccessibility(t, page, 'docs page (desktop)');
  await screenshot(page, 'docs-actions-desktop');

  await page.setViewportSize({ width: 375, height: 740 });
  await checkAccessibility(t, page, 'docs page (phone)');
  const overflow = await page.evaluate(() => {
    const root = (globalThis as any).document.documentElement;
    return root.scrollWidth - root.clientWidth;
  });
  t.ok(overflow <= 0, `no sideways scrolling at phone width (overflow ${overflow}px)`);
  const fontSize = await page
    .locator('.card dd')
    .first()
    .evaluate((el) => parseFloat((globalThis as any).getComputedStyle(el).fontSize));
  t.ok(fontSize >= 14, `card text is readable (${fontSize}px)`);
  await screenshot(page, 'docs-actions-phone');
  // The first screen a phone shows, as a person sees it.
  await page.screenshot({ path: path.join(ARTIFACTS, 'docs-actions-phone-first-screen.png') });
  await page.locator('#create_booking').scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(ARTIFACTS, 'docs-actions-phone-card.png') });

  await page.getByRole('link', { name: 'OpenAPI document' }).click();
  await page.waitForURL(/openapi\.json$/);
  t.match(await page.locator('body').innerText(), /"openapi":\s*"3\.1\.0"/);
  await page.close();
});
