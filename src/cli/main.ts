import { Command, CommanderError } from 'commander';
import { CliError, exitQuietlyOnClosedPipe } from './output.ts';

type Register = (program: Command) => void;

/** A top-level command as the root help lists it, before its module is loaded. */
export interface CommandStub {
  readonly name: string;
  /** What the root help shows left of the description, e.g. `serve [options]`. */
  readonly term: string;
  readonly description: string;
}

/**
 * Every top-level command and the module that registers it. Only the module of the command being run
 * is imported, so `callsnare --help` loads commander alone and `callsnare org list` never loads fastify,
 * twilio or stripe. The descriptions must match the modules' own (a unit test compares them).
 */
export const COMMAND_MODULES: readonly { readonly commands: readonly CommandStub[]; readonly load: () => Promise<Register> }[] = [
  {
    commands: [
      {
        name: 'serve',
        term: 'serve [options]',
        description: 'run the HTTP API with the projectors and the automation worker (what npm start runs)',
      },
      { name: 'project', term: 'project [options]', description: 'run the projectors alone (several may run against one database)' },
    ],
    load: async () => (await import('./verbs/serve.ts')).registerServeCommands,
  },
  {
    commands: [
      {
        name: 'worker',
        term: 'worker [options]',
        description: 'run the automation worker alone: confirmation, reminder and text-back jobs (several may run against one database)',
      },
    ],
    load: async () => (await import('./verbs/worker.ts')).registerWorkerCommand,
  },
  {
    commands: [
      { name: 'migrate', term: 'migrate [options]', description: 'apply schema migrations (serve does it at start unless --no-migrate)' },
    ],
    load: async () => (await import('./verbs/migrate.ts')).registerMigrateCommand,
  },
  {
    commands: [{ name: 'org', term: 'org', description: 'organizations: the businesses using CallSnare' }],
    load: async () => (await import('./verbs/orgs.ts')).registerOrgCommands,
  },
  {
    commands: [{ name: 'token', term: 'token', description: 'integration credentials for the protected API' }],
    load: async () => (await import('./verbs/tokens.ts')).registerTokenCommands,
  },
  {
    commands: [{ name: 'member', term: 'member', description: 'team members of an organization' }],
    load: async () => (await import('./verbs/members.ts')).registerMemberCommands,
  },
  {
    commands: [{ name: 'webhook', term: 'webhook', description: "outbound webhooks: an org's endpoints and their delivery log" }],
    load: async () => (await import('./verbs/webhooks.ts')).registerWebhookCommands,
  },
  {
    commands: [{ name: 'projections', term: 'projections', description: 'read models built from events' }],
    load: async () => (await import('./verbs/projections.ts')).registerProjectionCommands,
  },
  {
    commands: [{ name: 'audit', term: 'audit', description: 'the event timeline: who did what, when, and what the state was' }],
    load: async () => (await import('./verbs/audit.ts')).registerAuditCommands,
  },
];

/** The top-level command `argv` runs (`help <name>` counts as `<name>`); the root has no options that take a value. */
function requestedCommand(argv: readonly string[]): string | undefined {
  const words = argv.slice(2).filter((a) => !a.startsWith('-'));
  return words[0] === 'help' ? words[1] : words[0];
}

/**
 * Builds the `callsnare` command tree for `argv`: the requested command's module registers it in
 * full; every other top-level command is a stub that only shows in the root help.
 */
export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command('callsnare')
    .description('CallSnare core: missed-call recovery for HVAC businesses')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const requested = requestedCommand(argv);
  const terms = new Map<Command, string>();
  for (const module of COMMAND_MODULES) {
    if (module.commands.some((c) => c.name === requested)) {
      (await module.load())(program);
      continue;
    }
    for (const stub of module.commands) terms.set(program.command(stub.name).description(stub.description), stub.term);
  }
  const help = program.createHelp();
  program.configureHelp({ subcommandTerm: (cmd) => terms.get(cmd) ?? help.subcommandTerm(cmd) });
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
    await (await buildProgram(argv)).parseAsync(argv);
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
