import { Command } from 'commander';
import t from 'tap';
import { buildProgram, COMMAND_MODULES } from '../../src/cli/main.ts';

t.test('the root help stubs name, describe and show every command as its module registers it', async (t) => {
  for (const module of COMMAND_MODULES) {
    const program = new Command('callsnare');
    (await module.load())(program);
    const help = program.createHelp();
    t.same(
      program.commands.map((c) => ({ name: c.name(), term: help.subcommandTerm(c), description: c.description() })),
      module.commands,
      module.commands.map((c) => c.name).join(', '),
    );
  }
});

t.test('only the requested command is registered in full; the others are stubs', async (t) => {
  const program = await buildProgram(['node', 'callsnare', 'org', 'create', '--help']);
  const org = program.commands.find((c) => c.name() === 'org')!;
  t.ok(
    org.commands.some((c) => c.name() === 'create'),
    'org has its subcommands',
  );
  const token = program.commands.find((c) => c.name() === 'token')!;
  t.equal(token.commands.length, 0, 'token is a stub');
  const help = await buildProgram(['node', 'callsnare', 'help', 'token']);
  t.ok(help.commands.find((c) => c.name() === 'token')!.commands.length > 0, '`help token` registers token');
});

t.test('the root help lists every command in order', async (t) => {
  const program = await buildProgram(['node', 'callsnare', '--help']);
  t.same(
    program.commands.map((c) => c.name()),
    COMMAND_MODULES.flatMap((m) => m.commands.map((c) => c.name)),
  );
});
