import { type Command, InvalidArgumentError } from 'commander';
import { runProcess } from './serve.ts';

const positiveInt = (name: string, max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`${name} must be a whole number from 1 to ${max}`);
  return n;
};

/** `callsnare worker`: the automation alone (job runners and process manager), no HTTP, no projectors. */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run the automation worker alone: confirmation, reminder and text-back jobs (several may run against one database)')
    .option('--concurrency <n>', 'jobs run at once by this process', positiveInt('--concurrency', 64), 4)
    .option('--no-process-manager', 'only run jobs; leave queueing them to other processes')
    .option(
      '--recovery-interval <seconds>',
      'how often to release the jobs of dead worker processes',
      positiveInt('--recovery-interval', 3600),
      30,
    )
    .option(
      '--shutdown-timeout <seconds>',
      'on SIGTERM, how long a running job may finish before it is released for a retry',
      positiveInt('--shutdown-timeout', 600),
      10,
    )
    .option('--no-migrate', 'do not apply migrations at start')
    .action(
      async (opts: {
        concurrency: number;
        processManager: boolean;
        recoveryInterval: number;
        shutdownTimeout: number;
        migrate: boolean;
      }) => {
        await runProcess({
          http: false,
          projector: false,
          migrate: opts.migrate,
          worker: {
            concurrency: opts.concurrency,
            processManager: opts.processManager,
            recoveryIntervalMs: opts.recoveryInterval * 1000,
            shutdownTimeoutMs: opts.shutdownTimeout * 1000,
          },
        });
      },
    );
}
