import { Command, CommanderError } from 'commander';
import { registerAuditCommands } from './commands/audit.ts';
import { registerMemberCommands } from './commands/members.ts';
import { registerMigrateCommand } from './commands/migrate.ts';
import { registerOrgCommands } from './commands/orgs.ts';
import { registerProjectionCommands } from './commands/projections.ts';
import { registerServeCommands } from './commands/serve.ts';
import { registerTokenCommands } from './commands/tokens.ts';
import { registerWorkerCommand } from './commands/worker.ts';
import { CliError, exitQuietlyOnClosedPipe } from './output.ts';

/** Builds the `callsnare` command tree. */
export function buildProgram(): Command {
  const program = new Command('callsnare')
    .description('CallSnare core: missed-call recovery for HVAC businesses')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerServeCommands(program);
  registerWorkerCommand(program);
  registerMigrateCommand(program);
  registerOrgCommands(program);
  registerTokenCommands(program);
  registerMemberCommands(program);
  registerProjectionCommands(program);
  registerAuditCommands(program);
  for (const command of program.commands) {
    command.exitOverride();
    for (const sub of command.commands) sub.exitOverride();
  }
  return program;
}

/** Entry point of bin/callsnare.js: runs a command, prints one line on failure, sets the exit code. */
export async function main(argv: string[]): Promise<void> {
  exitQuietlyOnClosedPipe();
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode;
      return;
    }
    const message = error instanceof CliError ? error.message : `unexpected error: ${(error as Error).message}`;
    process.stderr.write(`error: ${message.split('\n')[0]}\n`);
    // Exit now: a failed start may leave handles (pools, timers) that would keep the process alive.
    process.exit(error instanceof CliError ? error.exitCode : 1);
  }
}
