import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { z } from 'zod';
import { loadOrg } from '../../commands/org-reads.ts';
import { configureOrg, createOrg } from '../../commands/orgs.ts';
import { PhoneClaimedError } from '../../commands/phone-claims.ts';
import { settingsOf } from '../../domain/org.ts';
import { NotFoundError } from '../../domain/errors.ts';
import { blackoutDate, businessHours, e164, plannedAction, quietHours, timeZone, uuid, WEEKDAYS } from '../../domain/values.ts';
import { projector } from '../../projections/projection.ts';
import { catchUp } from '../../subscriptions/engine.ts';
import { orgsProjection } from '../../projections/read-models/orgs.ts';
import { operatorCaller, withServices } from '../context.ts';
import { CliError, emit, JSON_HELP } from '../output.ts';
import { onOff, parseOption } from '../parse.ts';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerOrgCommands(program: Command): void {
  const org = program.command('org').description('organizations: the businesses using CallSnare');

  org
    .command('create')
    .description('create an organization')
    .requiredOption('--name <name>', 'business name')
    .option('--timezone <tz>', 'IANA time zone', 'America/Chicago')
    .option('--phone <e164>', 'business number provider webhooks are routed by (repeatable); refused if another org has it', collect)
    .option('--move-phone', 'move a --phone number another org has to this one (recorded on both orgs)')
    .option('--json', JSON_HELP)
    .action(async (opts: { name: string; timezone: string; phone?: string[]; movePhone?: boolean; json?: boolean }) => {
      const name = parseOption('--name', z.string().trim().min(1, 'must not be empty').max(200), opts.name);
      const timezone = parseOption('--timezone', timeZone, opts.timezone);
      const phones = (opts.phone ?? []).map((p) => parseOption('--phone', e164, p));
      await withServices(async (services) => {
        const orgId = randomUUID();
        const { position } = await refusingClaimedPhones(() =>
          createOrg(services, operatorCaller(orgId), { orgId, name, timezone, phones, movePhones: !!opts.movePhone }),
        );
        await catchUp(services, projector(orgsProjection), { until: position });
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
    .option('--phone <e164>', 'add a business number (repeatable); refused if another org has it', collect)
    .option('--move-phone', 'move a --phone number another org has to this one (recorded on both orgs)')
    .option('--business-hours <spec>', 'opening hours, e.g. "mon-fri=08:00-17:00;sat=09:00-12:00" (days not named are closed)')
    .option('--crew-capacity <n>', 'visits the crew can take per arrival window')
    .option(
      '--blackout <date[=reason]>',
      'a closed day, e.g. 2026-12-25=Christmas (repeatable; replaces the list; "none" clears it)',
      collect,
    )
    .option('--enable-action <name>', 'switch on a planned action: availability, lead_summary (repeatable)', collect)
    .option('--disable-action <name>', 'switch off a planned action (repeatable)', collect)
    .option('--json', JSON_HELP)
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
            : parseOption(
                '--reminders',
                z.array(z.coerce.number().int('must be whole minutes').min(1).max(43_200)).max(10),
                opts.reminders.split(','),
              );
      }
      if (typeof opts.textBackTemplate === 'string')
        changes.textBackTemplate = parseOption('--text-back-template', z.string().min(1).max(640), opts.textBackTemplate);
      if (typeof opts.quietHours === 'string') {
        if (opts.quietHours === 'off') changes.quietHours = null;
        else {
          if (!/^\d\d:\d\d-\d\d:\d\d$/.test(opts.quietHours))
            throw new CliError('--quiet-hours: use HH:MM-HH:MM, e.g. 21:00-08:00 (or off)');
          const [start, end] = opts.quietHours.split('-');
          changes.quietHours = parseOption('--quiet-hours', quietHours, { start, end });
        }
      }
      if (typeof opts.timezone === 'string') changes.timezone = parseOption('--timezone', timeZone, opts.timezone);
      if (typeof opts.businessHours === 'string') changes.businessHours = parseBusinessHours(opts.businessHours);
      if (typeof opts.crewCapacity === 'string')
        changes.crewCapacity = parseOption('--crew-capacity', z.coerce.number().int().min(1).max(100), opts.crewCapacity);
      const blackouts = opts.blackout as string[] | undefined;
      if (blackouts) {
        changes.blackoutDates = blackouts.includes('none')
          ? []
          : blackouts.map((b) => {
              const [date, ...reason] = b.split('=');
              return parseOption('--blackout', blackoutDate, { date, ...(reason.length && { reason: reason.join('=') }) });
            });
      }
      const enable = ((opts.enableAction as string[] | undefined) ?? []).map((a) => parseOption('--enable-action', plannedAction, a));
      const disable = ((opts.disableAction as string[] | undefined) ?? []).map((a) => parseOption('--disable-action', plannedAction, a));
      const addPhones = ((opts.phone as string[] | undefined) ?? []).map((p) => parseOption('--phone', e164, p));
      if (!Object.keys(changes).length && !addPhones.length && !enable.length && !disable.length)
        throw new CliError('nothing to change: pass at least one setting');
      await withServices(async (services) => {
        try {
          if (enable.length || disable.length) {
            const current = settingsOf(await loadOrg(services, orgId)).enabledActions;
            changes.enabledActions = [...new Set([...current, ...enable])].filter((a) => !disable.includes(a));
          }
          const { org, position } = await refusingClaimedPhones(() =>
            configureOrg(services, operatorCaller(orgId), { orgId, changes, addPhones, movePhones: opts.movePhone === true }),
          );
          await catchUp(services, projector(orgsProjection), { until: position });
          emit(
            !!opts.json,
            { orgId, settings: org.settings, timezone: org.timezone, phones: org.phones },
            () => `configured org ${orgId}: ${JSON.stringify(org.settings)}`,
          );
        } catch (error) {
          if (error instanceof NotFoundError) throw new CliError(`unknown org ${orgId}`);
          throw error;
        }
      });
    });
}

/** A number another org has becomes one line naming that org and the way to move it. */
async function refusingClaimedPhones<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof PhoneClaimedError) {
      throw new CliError(`--phone ${error.phone} already belongs to org ${error.ownerOrgId}; pass --move-phone to move it to this org`);
    }
    throw error;
  }
}

/** Parses "mon-fri=08:00-17:00;sat=09:00-12:00" (or "closed") into business hours. */
function parseBusinessHours(spec: string) {
  if (spec === 'closed') return {};
  const hours: Record<string, { start: string; end: string }[]> = {};
  for (const part of spec
    .split(';')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const match = /^([a-z]{3})(?:-([a-z]{3}))?=(\d\d:\d\d)-(\d\d:\d\d)$/.exec(part);
    if (!match) throw new CliError(`--business-hours: "${part}" is not like mon-fri=08:00-17:00`);
    const [, first, last, start, end] = match as unknown as [string, string, string | undefined, string, string];
    const a = WEEKDAYS.indexOf(first as (typeof WEEKDAYS)[number]);
    const b = WEEKDAYS.indexOf((last ?? first) as (typeof WEEKDAYS)[number]);
    if (a < 0 || b < 0) throw new CliError(`--business-hours: days are ${WEEKDAYS.join(', ')}`);
    for (let d = a; ; d = (d + 1) % 7) {
      (hours[WEEKDAYS[d]!] ??= []).push({ start, end });
      if (d === b) break;
    }
  }
  return parseOption('--business-hours', businessHours, hours);
}
