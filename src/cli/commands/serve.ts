import type { Command } from 'commander';
import type { FastifyInstance } from 'fastify';
import { openServices, type OpenServices } from '../../app.ts';
import { buildServer } from '../../api/server.ts';
import { runLeadBookingLink } from '../../automation/lead-booking-link.ts';
import { type AutomationOptions, type RunningAutomation, startAutomation } from '../../automation/worker.ts';
import { createLogger } from '../../logger.ts';
import { PROJECTIONS } from '../../projections/registry.ts';
import { runProjector } from '../../projections/runner.ts';
import { configOrExit } from '../context.ts';
import { CliError } from '../output.ts';
import { positionsAheadOfServer } from '../../eventstore/postgres/restore-check.ts';

interface RunOptions {
  readonly http: boolean;
  readonly projector: boolean;
  readonly migrate: boolean;
  /** Run the automation (job runners and process manager); an object tunes it. */
  readonly worker?: boolean | AutomationOptions;
}

/**
 * Runs the long-lived parts in one process until SIGINT/SIGTERM, then drains in order:
 * stop taking requests, stop projectors, let running jobs finish (or release them), close the store and
 * pool, stop an embedded database last.
 */
export async function runProcess(options: RunOptions): Promise<void> {
  const config = configOrExit();
  const log = createLogger(config.LOG_LEVEL ?? 'info', 1);
  const controller = new AbortController();
  let app: FastifyInstance | undefined;
  let services: OpenServices | undefined;
  let automation: RunningAutomation | undefined;
  const running: Promise<void>[] = [];

  let drained: Promise<void> | undefined;
  const drain = () =>
    (drained ??= (async () => {
      log.info('shutting down');
      controller.abort();
      await app?.close();
      await Promise.allSettled([...running, automation?.stop()]);
    })());

  let exiting = false;
  const onSignal = async (signal: string) => {
    if (exiting) return;
    exiting = true;
    log.info({ signal }, 'signal received');
    await drain();
    await services?.close();
    process.exit(0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  services = await openServices(config, log, { migrate: options.migrate, beforeDatabaseStop: drain });
  if (services.store.kind === 'postgres') {
    const restored = await positionsAheadOfServer(services.db);
    if (restored) {
      await services.close();
      throw new CliError(restored);
    }
  }
  if (options.projector) {
    for (const projection of PROJECTIONS) running.push(runProjector(services, projection, controller.signal));
    // Bookings move their leads to Booked: a reactor that runs beside the projectors.
    running.push(runLeadBookingLink(services, controller.signal));
    log.info({ projections: PROJECTIONS.map((p) => p.name) }, 'projectors running');
  }
  if (options.worker) {
    automation = await startAutomation(services, options.worker === true ? {} : options.worker);
  }
  if (options.http) {
    app = await buildServer(services);
    const address = await app.listen({ port: config.PORT, host: config.HOST });
    log.info({ address, database: config.DATABASE_URL ? 'DATABASE_URL' : `embedded (${config.dataDir})`, eventStore: config.EVENT_STORE }, `CallSnare listening on ${address}`);
  }
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
