import net from 'node:net';
import type { Command } from 'commander';
import type { FastifyInstance } from 'fastify';
import { type OpenServices, type RunningProcess, type WorkerParts, startProcess } from '../../app.ts';
import { chooseLogFormat, createLogger } from '../../logger.ts';
import { SUBSCRIBERS } from '../../subscribers.ts';
import type { Config } from '../../config.ts';
import { positionsAheadOfServer } from '../../eventstore/postgres/restore-check.ts';
import { configOrExit, openServicesOrExplain } from '../context.ts';
import { CliError } from '../output.ts';

/** Which parts a CLI process runs (see {@link ProcessParts}). */
interface RunOptions {
  readonly http: boolean;
  readonly projector: boolean;
  readonly migrate: boolean;
  /** Run the automation (job runners and process manager); an object tunes it. */
  readonly worker?: boolean | WorkerParts;
}

/**
 * Runs the long-lived parts in one process until SIGINT/SIGTERM, then drains in order (see
 * {@link startProcess}), closes the store and pool, and stops an embedded database last.
 */
export async function runProcess(options: RunOptions): Promise<void> {
  const config = configOrExit();
  const log = createLogger(config.LOG_LEVEL ?? 'info', 1, chooseLogFormat(config.LOG_FORMAT, process.stdout.isTTY));
  let services: OpenServices | undefined;
  let started: RunningProcess | undefined;
  const drain = async () => started?.stop();

  let exiting = false;
  const onSignal = async (signal: string) => {
    if (exiting) return;
    exiting = true;
    log.info({ signal }, `${signal} received: draining requests and jobs`);
    await drain();
    await services?.close();
    log.info('CallSnare stopped');
    // The log is asynchronous: flush it, or the last line may be lost on exit.
    await new Promise<void>((resolve) => log.flush(() => resolve()));
    process.exit(0);
  };
  process.on('SIGINT', (signal) => void onSignal(signal));
  process.on('SIGTERM', (signal) => void onSignal(signal));

  const fail = async (message: string): Promise<never> => {
    exiting = true;
    await drain().catch(() => {});
    await services?.close().catch(() => {});
    throw new CliError(message);
  };

  const listenFailure = async (error: unknown): Promise<never> => {
    const code = (error as { code?: string }).code;
    if (code === 'EADDRINUSE') {
      return fail(
        `port ${config.PORT} on ${config.HOST} is already in use (another CallSnare running?); choose another with PORT=, e.g. PORT=${config.PORT + 1} npm start`,
      );
    }
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') return fail(`cannot listen on HOST=${config.HOST}: no such local address`);
    return fail(`cannot listen on ${config.HOST}:${config.PORT}: ${(error as Error).message}`);
  };
  // Fail fast on a taken port, before the database starts; the real listen below still decides.
  if (options.http) await probePort(config.PORT, config.HOST).catch(listenFailure);
  // The HTTP stack (fastify, the provider SDKs) loads only in processes that serve HTTP: start loading it
  // while the database starts (startProcess imports it again from the module cache).
  if (options.http) import('../../http/server.ts').catch(() => {});
  services = await openServicesOrExplain(config, log, { migrate: options.migrate, beforeDatabaseStop: drain, handlesSignals: true });
  if (services.store.kind === 'postgres') {
    const restored = await positionsAheadOfServer(services.db);
    if (restored) await fail(restored);
  }
  started = await startProcess(services, {
    ...(options.http && { http: { listen: { port: config.PORT, host: config.HOST } } }),
    projector: options.projector,
    ...(options.worker !== undefined && { worker: options.worker }),
  }).catch((error: unknown) => {
    // Node's listen errors (a taken port, an unknown host) become the one-line hints; anything else is unexpected.
    const syscall = (error as { syscall?: string }).syscall;
    if (syscall === 'listen' || syscall === 'getaddrinfo') return listenFailure(error);
    throw error;
  });
  for (const line of startupReport(config, { ...options, ...(started.app && { app: started.app }) })) log.info(line.fields, line.msg);
}

/** What start-up tells the operator: where it listens, on what data, and which features are on or off (and how to turn them on). */
function startupReport(config: Config, parts: RunOptions & { app?: FastifyInstance }): { msg: string; fields: object }[] {
  const lines: { msg: string; fields: object }[] = [];
  const database = config.DATABASE_URL
    ? (() => {
        const u = new URL(config.DATABASE_URL);
        return `PostgreSQL at ${u.hostname}:${u.port || 5432}${u.pathname} (DATABASE_URL)`;
      })()
    : `embedded PostgreSQL, data in ${config.dataDir} (set DATABASE_URL to use your own)`;
  const eventStore =
    config.EVENT_STORE === 'esdb'
      ? `EventStoreDB at ${esdbHosts(config.EVENTSTORE_CONNECTION_STRING!)} (EVENT_STORE=esdb)`
      : 'PostgreSQL (EVENT_STORE=postgres)';
  lines.push({ msg: `database: ${database}`, fields: { database: config.DATABASE_URL ? 'DATABASE_URL' : `embedded (${config.dataDir})` } });
  lines.push({ msg: `event store: ${eventStore}`, fields: { eventStore: config.EVENT_STORE } });
  const twilio = config.PUBLIC_BASE_URL && config.TWILIO_AUTH_TOKEN;
  lines.push({
    msg: twilio
      ? `webhooks: Twilio on (signatures checked against ${config.PUBLIC_BASE_URL})`
      : 'webhooks: Twilio off (answers 503; set PUBLIC_BASE_URL and TWILIO_AUTH_TOKEN to turn it on)',
    fields: { webhook: 'twilio', configured: !!twilio },
  });
  lines.push({
    msg: config.STRIPE_WEBHOOK_SECRET
      ? 'webhooks: Stripe on'
      : 'webhooks: Stripe off (answers 503; set STRIPE_WEBHOOK_SECRET to turn it on)',
    fields: { webhook: 'stripe', configured: !!config.STRIPE_WEBHOOK_SECRET },
  });
  const automation = parts.worker ? 'on' : 'off (--no-worker)';
  lines.push({
    msg:
      config.MESSAGING === 'twilio'
        ? `messaging: Twilio (MESSAGING=twilio, account ${config.TWILIO_ACCOUNT_SID}); automation worker ${automation}`
        : `messaging: log (MESSAGING=log: messages go to the outbound_messages table, none is sent; MESSAGING=twilio sends them); automation worker ${automation}`,
    fields: { messaging: config.MESSAGING, worker: !!parts.worker },
  });
  const projectors = SUBSCRIBERS.filter((s) => s.runsWith === 'projector').map((s) => s.subscriber.name);
  lines.push({
    msg: `projectors: ${parts.projector ? projectors.join(', ') : 'off (--no-projector)'}`,
    fields: { projector: parts.projector },
  });
  if (parts.app) {
    const address = listeningAddress(parts.app);
    lines.push({ msg: `CallSnare listening on ${address}`, fields: { address } });
  } else {
    lines.push({ msg: 'CallSnare running (Ctrl-C stops it)', fields: {} });
  }
  return lines;
}

/** The hosts of an EventStoreDB connection string, without credentials or options. */
function esdbHosts(connectionString: string): string {
  const match = /^[a-z+]+:\/\/(?:[^@/]*@)?([^/?]+)/.exec(connectionString);
  return match?.[1] ?? 'EVENTSTORE_CONNECTION_STRING';
}

function probePort(port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve()));
  });
}

function listeningAddress(app: FastifyInstance): string {
  const address = app.server.address();
  if (!address || typeof address === 'string') return String(address);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

export function registerServeCommands(program: Command): void {
  program
    .command('serve')
    .description('run the HTTP API with the projectors and the automation worker (what npm start runs)')
    .option('--no-worker', 'do not run the automation worker')
    .option('--no-projector', 'do not run the projectors')
    .option('--no-migrate', 'do not apply migrations at start')
    .action(async (opts: { projector: boolean; migrate: boolean; worker: boolean }) => {
      await runProcess({ http: true, projector: opts.projector, migrate: opts.migrate, worker: opts.worker });
    });

  program
    .command('project')
    .description('run the projectors alone (several may run against one database)')
    .option('--no-migrate', 'do not apply migrations at start')
    .action(async (opts: { migrate: boolean }) => {
      await runProcess({ http: false, projector: true, migrate: opts.migrate });
    });
}
