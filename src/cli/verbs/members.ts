import type { Command } from 'commander';
import { z } from 'zod';
import { issueCredential } from '../../identity/index.ts';
import { loadOrg } from '../../commands/org-reads.ts';
import { NotFoundError, StateConflictError } from '../../domain/errors.ts';
import { memberRole } from '../../domain/events/org.ts';
import { uuid } from '../../domain/values.ts';
import { projector } from '../../projections/projection.ts';
import { catchUp } from '../../subscriptions/engine.ts';
import { catchUpCredentials } from '../../projections/read-models/credentials.ts';
import { orgsProjection } from '../../projections/read-models/orgs.ts';
import {
  AlreadyMemberError,
  checkPassword,
  ensureMember,
  inviteMember,
  LoginTakenError,
  removeMemberEverywhere,
  resetLink,
  setMemberPassword,
  WeakPasswordError,
} from '../../identity/index.ts';
import { operatorCaller, withServices } from '../context.ts';
import { CliError, emit, JSON_HELP } from '../output.ts';
import { parseOption } from '../parse.ts';

/** Reads a password from standard input (one line; the trailing newline is not part of it). */
async function readPasswordFromStdin(): Promise<string> {
  if (process.stdin.isTTY)
    throw new CliError('--password-stdin: pipe the password in (e.g. printf %s "$PW" | callsnare member create ...)');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

function cliErrorOf(orgId: string) {
  return (error: unknown): never => {
    if (error instanceof NotFoundError) throw new CliError(`unknown org ${orgId}`);
    // The operator sees every org, so the CLI may say why an email is taken (the API says only "taken").
    if (error instanceof LoginTakenError) throw new CliError('that email is taken: it already signs in to another org');
    if (error instanceof StateConflictError || error instanceof AlreadyMemberError || error instanceof WeakPasswordError)
      throw new CliError(error.message);
    throw error;
  };
}

const options = (opts: { org: string; email: string; role: string }) => ({
  orgId: parseOption('--org', uuid, opts.org),
  email: parseOption('--email', z.email('must be an email address'), opts.email).toLowerCase(),
  role: parseOption('--role', memberRole, opts.role),
});

export function registerMemberCommands(program: Command): void {
  const member = program.command('member').description('team members of an organization');

  member
    .command('create')
    .description(
      'add a team member and print their member token for the internal API (once); --password-stdin also lets them sign in to the web app',
    )
    .requiredOption('--org <id>', 'org id')
    .requiredOption('--email <email>', 'their email (also their sign-in name)')
    .requiredOption('--role <role>', 'owner, admin, member or auditor')
    .option('--password-stdin', 'read their web app password from standard input (at least 10 characters)')
    .option('--json', JSON_HELP)
    .action(async (opts: { org: string; email: string; role: string; passwordStdin?: boolean; json?: boolean }) => {
      const { orgId, email, role } = options(opts);
      const password = opts.passwordStdin ? await readPasswordFromStdin() : undefined;
      if (password !== undefined) {
        try {
          checkPassword(password);
        } catch (error) {
          cliErrorOf(orgId)(error);
        }
      }
      await withServices(async (services) => {
        const caller = operatorCaller(orgId);
        const added = await ensureMember(services, caller, { orgId, email, role }).catch(cliErrorOf(orgId));
        if (!added.added) throw new CliError(`${email} is already a member`);
        if (password !== undefined) await setMemberPassword(services, { orgId, memberId: added.memberId, email, password });
        const issued = await issueCredential(services, caller, { orgId, label: email, kind: 'member', memberId: added.memberId, role });
        await catchUp(services, projector(orgsProjection), { until: added.position });
        await catchUpCredentials(services, issued.position);
        const signIn = password !== undefined;
        emit(
          !!opts.json,
          { memberId: added.memberId, id: issued.id, token: issued.token, role, orgId, email, canSignIn: signIn },
          () =>
            `member ${added.memberId} (${email}, ${role})${signIn ? '; can sign in to the web app' : ''}\n${issued.token}\nStore it now: it is not shown again.`,
        );
      });
    });

  member
    .command('invite')
    .description('add a new person as a member and print a single-use link (valid 72 hours) that lets them choose their web app password')
    .requiredOption('--org <id>', 'org id')
    .requiredOption('--email <email>', 'their email (also their sign-in name)')
    .requiredOption('--role <role>', 'owner, admin, member or auditor (an existing member keeps theirs)')
    .option('--json', JSON_HELP)
    .action(async (opts: { org: string; email: string; role: string; json?: boolean }) => {
      const { orgId, email, role } = options(opts);
      await withServices(async (services) => {
        const invited = await inviteMember(services, operatorCaller(orgId), { orgId, email, role, byRole: 'operator' }).catch(
          cliErrorOf(orgId),
        );
        await catchUp(services, projector(orgsProjection), { until: invited.position });
        emit(
          !!opts.json,
          { memberId: invited.memberId, orgId, email, role: invited.role, url: invited.url, expiresAt: invited.expiresAt.toISOString() },
          () =>
            `${invited.added ? 'invited' : 'password link for'} ${email} (${invited.role}); single use, expires ${invited.expiresAt.toISOString()}\n${invited.url}`,
        );
      });
    });

  member
    .command('reset-link')
    .description(
      'print a single-use password-reset link (valid 72 hours) for a member, to hand to that person only; their earlier links end',
    )
    .requiredOption('--org <id>', 'org id')
    .requiredOption('--email <email>', 'their email (their sign-in name)')
    .option('--json', JSON_HELP)
    .action(async (opts: { org: string; email: string; json?: boolean }) => {
      const orgId = parseOption('--org', uuid, opts.org);
      const email = parseOption('--email', z.email('must be an email address'), opts.email).toLowerCase();
      await withServices(async (services) => {
        const link = await resetLink(services, { orgId, email }).catch(cliErrorOf(orgId));
        if (!link) throw new CliError(`${email} is not a member of org ${orgId}`);
        emit(
          !!opts.json,
          { memberId: link.memberId, orgId, email, url: link.url, expiresAt: link.expiresAt.toISOString() },
          () => `password-reset link for ${email}; single use, expires ${link.expiresAt.toISOString()}\n${link.url}`,
        );
      });
    });

  member
    .command('remove')
    .description('remove a member from the org: their sessions, member tokens and open invite links end at once (the last owner stays)')
    .requiredOption('--org <id>', 'org id')
    .requiredOption('--email <email>', 'their email')
    .option('--json', JSON_HELP)
    .action(async (opts: { org: string; email: string; json?: boolean }) => {
      const orgId = parseOption('--org', uuid, opts.org);
      const email = parseOption('--email', z.email('must be an email address'), opts.email).toLowerCase();
      await withServices(async (services) => {
        const org = await loadOrg(services, orgId).catch(cliErrorOf(orgId));
        const target = org.members.find((m) => m.email.toLowerCase() === email);
        if (!target) throw new CliError(`${email} is not a member of org ${orgId}`);
        const removed = await removeMemberEverywhere(services, operatorCaller(orgId), {
          orgId,
          memberId: target.memberId,
          byRole: 'operator',
        }).catch(cliErrorOf(orgId));
        await catchUp(services, projector(orgsProjection), { until: removed.position });
        emit(
          !!opts.json,
          { memberId: target.memberId, orgId, email, removed: true, sessionsEnded: removed.sessions },
          () => `removed ${email} (${target.role}); ${removed.sessions} session(s), member tokens and open links ended`,
        );
      });
    });
}
