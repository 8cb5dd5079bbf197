// Browser-test support: a real `callsnare serve` on a fresh database, the CLI run as an operator runs it,
// Chromium from npm (@sparticuz/chromium) driven by playwright-core, axe-core run inside the page, screenshots for people.
import { execFileOwned } from '../support/processes.ts';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { chromiumExecutable } from '../support/chromium.ts';
import { testDatabase, type TestDatabase } from '../support/db.ts';
import { CLI_BIN, REPO_ROOT, startServe } from '../support/serve.ts';
import { PROVIDER_ENV, inboundSms, twilioSignature } from '../webhooks/fixtures/providers.ts';

interface Tap {
  teardown(fn: () => unknown): void;
  same(found: any, wanted: any, ...rest: any[]): any;
}

/** Where screenshots go (git-ignored) so a person can look at each screen. */
export const ARTIFACTS = path.join(REPO_ROOT, 'test', 'artifacts');

/** A running app: its database, address, and the environment the CLI needs to reach it. */
export interface WebApp {
  readonly database: TestDatabase;
  readonly address: string;
  readonly env: Record<string, string | undefined>;
  cli(args: string[], input?: string): Promise<string>;
  /** Creates an org with a business number; returns its id. */
  org(name: string, phone: string, timezone?: string): Promise<string>;
  /** Creates a member who can sign in; returns their id and member token. */
  member(orgId: string, email: string, role: string, password?: string): Promise<{ memberId: string; token: string }>;
  /** Everything `serve` logged so far (pino JSON lines). */
  logs(): string;
  /** Posts a signed Twilio missed-call callback, as Twilio would. */
  missedCall(from: string, to: string): Promise<number>;
  /** Posts a signed Twilio inbound text, as Twilio would. */
  text(from: string, to: string, body: string): Promise<number>;
}

export const PASSWORD = 'correct horse battery staple';

export async function startWebApp(t: Tap): Promise<WebApp> {
  const database = await testDatabase(t);
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: database.url, ...PROVIDER_ENV };
  const { child, address } = await startServe(env);
  let logs = '';
  child.stdout!.on('data', (chunk: Buffer) => (logs += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (logs += chunk.toString()));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  );
  const cli = (args: string[], input?: string) =>
    new Promise<string>((resolve, reject) => {
      const proc = execFileOwned(
        process.execPath,
        [CLI_BIN, ...args],
        { env: { ...env, LOG_LEVEL: 'silent' }, cwd: REPO_ROOT },
        (error, stdout, stderr) => (error ? reject(new Error(`callsnare ${args.join(' ')}: ${stderr || error.message}`)) : resolve(stdout)),
      );
      proc.stdin!.end(input ?? '');
    });
  let sids = 0;
  const postSigned = async (route: string, params: Record<string, string>) => {
    const res = await fetch(`${address}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilioSignature(route, params) },
      body: new URLSearchParams(params).toString(),
    });
    return res.status;
  };
  return {
    database,
    address,
    env,
    cli,
    logs: () => logs,
    async org(name, phone, timezone = 'America/Chicago') {
      return (
        JSON.parse(await cli(['org', 'create', '--name', name, '--timezone', timezone, '--phone', phone, '--json'])) as { orgId: string }
      ).orgId;
    },
    async member(orgId, email, role, password = PASSWORD) {
      const out = JSON.parse(
        await cli(['member', 'create', '--org', orgId, '--email', email, '--role', role, '--password-stdin', '--json'], `${password}\n`),
      );
      return { memberId: out.memberId as string, token: out.token as string };
    },
    async missedCall(from, to) {
      const params = {
        AccountSid: 'AC0123456789abcdef0123456789abcdef',
        CallSid: `CA${String(++sids).padStart(32, '0')}`,
        CallStatus: 'no-answer',
        Direction: 'inbound',
        From: from,
        To: to,
        Caller: from,
        Called: to,
      };
      return postSigned('/webhooks/twilio/voice', params);
    },
    async text(from, to, body) {
      return postSigned('/webhooks/twilio/sms', inboundSms({ messageSid: `SM${String(++sids).padStart(32, '0')}`, from, to, body }));
    },
  };
}

/** A headless Chromium (the npm-installed one, see test/support/chromium.ts) with a fresh profile directory, closed at teardown. */
export async function openBrowser(t: Tap): Promise<BrowserContext> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'callsnare-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumExecutable(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    viewport: { width: 1280, height: 860 },
    // axe-core is injected as a script; the app's CSP (script-src 'self') would refuse it.
    bypassCSP: true,
  });
  context.setDefaultTimeout(30_000);
  // A script error in the page is a test failure's likeliest cause: show it in the test output.
  context.on('page', (page) => page.on('pageerror', (error) => process.stderr.write(`page error: ${error.message}\n`)));
  t.teardown(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  });
  return context;
}

/** Runs axe-core in the page; serious and critical violations fail the test. */
export async function checkAccessibility(t: Tap, page: Page, screen: string): Promise<void> {
  await page.addScriptTag({ path: path.join(REPO_ROOT, 'node_modules/axe-core/axe.min.js') });
  // Runs in the page (browser globals), hence the loose typing.
  const violations = (await page.evaluate(async () => {
    const g = globalThis as any;
    const result = await g.axe.run(g.document, { resultTypes: ['violations'] });
    return result.violations.map((v: any) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n: any) => String(n.target)).slice(0, 5),
    }));
  })) as { id: string; impact: string; help: string; targets: string[] }[];
  t.same(
    violations.filter((v) => v.impact === 'serious' || v.impact === 'critical'),
    [],
    `${screen}: no serious or critical accessibility violations`,
  );
}

/** Saves a full-page screenshot under test/artifacts/. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Signs in through the sign-in page. */
export async function signIn(page: Page, address: string, email: string, password = PASSWORD): Promise<void> {
  await page.goto(`${address}/app`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}
