import type { Command } from 'commander';
import { z } from 'zod';
import { issueCredential, revokeCredential } from '../../identity/index.ts';
import { NotFoundError } from '../../domain/errors.ts';
import { scope } from '../../domain/events/credential.ts';
import { uuid } from '../../domain/values.ts';
import { catchUpCredentials } from '../../projections/read-models/credentials.ts';
import { listCredentials } from '../../identity/index.ts';
import { operatorCaller, requireOrg, withServices } from '../context.ts';
import { CliError, emit, JSON_HELP, NDJSON_HELP, table } from '../output.ts';
import { parseOption } from '../parse.ts';

function unknownOrg(orgId: string) {
  return (error: unknown): never => {
    if (error instanceof NotFoundError) throw new CliError(`unknown org ${orgId}`);
    throw error;
  };
}

export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('integration credentials for the protected API');

  token
    .command('create')
    .description('mint an integration token; the secret is printed once and only its hash is stored')
    .requiredOption('--org <id>', 'org id')
    .requiredOption('--scopes <list>', 'comma-separated: READ_BOOKINGS,WRITE_BOOKINGS')
    .requiredOption('--label <label>', 'who holds it, e.g. "Dispatch board"')
    .option('--json', JSON_HELP)
    .action(async (opts: { org: string; scopes: string; label: string; json?: boolean }) => {
      const orgId = parseOption('--org', uuid, opts.org);
      const scopes = parseOption(
        '--scopes',
        z.array(scope).min(1),
        opts.scopes
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      );
      const label = parseOption('--label', z.string().trim().min(1, 'must not be empty').max(200), opts.label);
      await withServices(async (services) => {
        const issued = await issueCredential(services, operatorCaller(orgId), { orgId, label, kind: 'integration', scopes }).catch(
          unknownOrg(orgId),
        );
        await catchUpCredentials(services, issued.position);
        emit(
          !!opts.json,
          { id: issued.id, token: issued.token, scopes: issued.scopes, orgId, label },
          () => `token ${issued.id} (${label}; ${scopes.join(', ')})\n${issued.token}\nStore it now: it is not shown again.`,
        );
      });
    });

  token
    .command('list')
    .description("an org's credentials (never the secrets)")
    .requiredOption('--org <id>', 'org id')
    .option('--json', `${NDJSON_HELP}, one per credential`)
    .action(async (opts: { org: string; json?: boolean }) => {
      const orgId = parseOption('--org', uuid, opts.org);
      await withServices(async (services) => {
        await requireOrg(services, orgId);
        await catchUpCredentials(services);
        const rows = await listCredentials(services.db, orgId);
        if (opts.json) {
          for (const r of rows) emit(true, r, '');
          return;
        }
        if (!rows.length) {
          emit(false, null, 'no credentials');
          return;
        }
        emit(false, null, () =>
          table([
            ['ID', 'KIND', 'LABEL', 'SCOPES/ROLE', 'CREATED', 'LAST USED', 'STATUS'],
            ...rows.map((r) => [
              r.id,
              r.kind,
              r.label,
              r.kind === 'member' ? (r.role ?? '') : r.scopes.join(','),
              r.createdAt.toISOString(),
              r.lastUsedAt?.toISOString() ?? '-',
              r.revokedAt ? `revoked ${r.revokedAt.toISOString()}` : 'active',
            ]),
          ]),
        );
      });
    });

  token
    .command('revoke')
    .description('revoke a credential; it gets 401 from the next request on')
    .requiredOption('--id <id>', 'credential id')
    .option('--reason <text>', 'why')
    .option('--json', JSON_HELP)
    .action(async (opts: { id: string; reason?: string; json?: boolean }) => {
      const id = parseOption('--id', uuid, opts.id);
      await withServices(async (services) => {
        const { credential, position } = await revokeCredential(
          services,
          operatorCaller('00000000-0000-0000-0000-000000000000'),
          id,
          opts.reason,
        ).catch((error: unknown) => {
          if (error instanceof NotFoundError) throw new CliError(`unknown credential ${id}`);
          throw error;
        });
        await catchUpCredentials(services, position);
        emit(!!opts.json, { id, revokedAt: credential.revokedAt }, `revoked ${id}`);
      });
    });
}
