import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { z } from 'zod';
import { configureOrg, createOrg } from '../../commands/orgs.ts';
import { NotFoundError } from '../../domain/errors.ts';
import { e164, quietHours, timeZone, uuid } from '../../domain/values.ts';
import { catchUp } from '../../projections/runner.ts';
import { orgsProjection } from '../../projections/read-models/orgs.ts';
import { operatorCaller, withServices } from '../context.ts';
import { CliError, emit } from '../output.ts';
import { onOff, parseOption } from '../parse.ts';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerOrgCommands(program: Command): void {
  const org = program.command('org').description('organizations: the businesses using CallSnare');

  org
    .command('create')
    .description('create an organization')
    .requiredOption('--name <name>', 'business name')
    .option('--timezone <tz>', 'IANA time zone', 'America/Chicago')
    .option('--phone <e164>', 'business number provider webhooks are routed by (repeatable)', collect)
    .option('--json', 'machine output')
    .action(async (opts: { name: string; timezone: string; phone?: string[]; json?: boolean }) => {
      const name = parseOption('--name', z.string().trim().min(1, 'must not be empty').max(200), opts.name);
      const timezone = parseOption('--timezone', timeZone, opts.timezone);
      const phones = (opts.phone ?? []).map((p) => parseOption('--phone', e164, p));
      await withServices(async (services) => {
        const orgId = randomUUID();
        await createOrg(services, operatorCaller(orgId), { orgId, name, timezone, phones });
        await catchUp(services, orgsProjection);
        emit(!!opts.json, { orgId, name, timezone, phones }, `created org ${orgId} (${name}, ${timezone})`);
      });
    });

  org
    .command('configure')
    .description('change automation settings of an organization')
    .requiredOption('--org <id>', 'org id')
    .option('--confirmations <on|off>', 'send booking confirmations')
    .option('--reminders <minutes>', 'reminder offsets before the visit, comma-separated (e.g. 1440,120; "none" for none)')
    .option('--text-back <on|off>', 'text back missed callers')
    .option('--text-back-template <text>', 'text-back message; {{business}} is replaced by the org name')
    .option('--quiet-hours <HH:MM-HH:MM|off>', 'no messages in this local time range (deferred, never dropped)')
    .option('--timezone <tz>', 'IANA time zone')
    .option('--phone <e164>', 'add a business number (repeatable)', collect)
    .option('--json', 'machine output')
    .action(async (opts: Record<string, string | string[] | boolean | undefined>) => {
      const orgId = parseOption('--org', uuid, opts.org);
      const changes: Record<string, unknown> = {};
      const confirmations = onOff('--confirmations', opts.confirmations as string | undefined);
      if (confirmations !== undefined) changes.confirmations = confirmations;
      const textBack = onOff('--text-back', opts.textBack as string | undefined);
      if (textBack !== undefined) changes.textBack = textBack;
      if (typeof opts.reminders === 'string') {
        changes.reminderOffsetsMinutes =
          opts.reminders === 'none'
            ? []
            : parseOption('--reminders', z.array(z.coerce.number().int('must be whole minutes').min(1).max(43_200)).max(10), opts.reminders.split(','));
      }
      if (typeof opts.textBackTemplate === 'string') changes.textBackTemplate = parseOption('--text-back-template', z.string().min(1).max(640), opts.textBackTemplate);
      if (typeof opts.quietHours === 'string') {
        if (opts.quietHours === 'off') changes.quietHours = null;
        else {
          const [start, end] = opts.quietHours.split('-');
          changes.quietHours = parseOption('--quiet-hours', quietHours, { start, end });
        }
      }
      if (typeof opts.timezone === 'string') changes.timezone = parseOption('--timezone', timeZone, opts.timezone);
      const addPhones = ((opts.phone as string[] | undefined) ?? []).map((p) => parseOption('--phone', e164, p));
      if (!Object.keys(changes).length && !addPhones.length) throw new CliError('nothing to change: pass at least one setting');
      await withServices(async (services) => {
        try {
          const { org } = await configureOrg(services, operatorCaller(orgId), { orgId, changes, addPhones });
          await catchUp(services, orgsProjection);
          emit(!!opts.json, { orgId, settings: org.settings, timezone: org.timezone, phones: org.phones }, () => `configured org ${orgId}: ${JSON.stringify(org.settings)}`);
        } catch (error) {
          if (error instanceof NotFoundError) throw new CliError(`unknown org ${orgId}`);
          throw error;
        }
      });
    });
}
