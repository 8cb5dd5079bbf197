import { z } from 'zod';

/** A UUID (any version; we mint v4 and v5). */
export const uuid = z.uuid();

/** An E.164 phone number: `+` then 7 to 15 digits, no leading zero. */
export const e164 = z.string().regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 phone number such as +15125550100');

/** An IANA time zone name the runtime knows, e.g. `America/Chicago`. */
export const timeZone = z.string().refine(isTimeZone, 'must be an IANA time zone such as America/Chicago');

// Building an Intl.DateTimeFormat costs tens of microseconds and every booking read and written checks
// its zone. Valid names are a few hundred (case variants aside, hence the cap).
const knownZones = new Set<string>();
const KNOWN_ZONES_MAX = 2000;

export function isTimeZone(value: string): boolean {
  if (knownZones.has(value)) return true;
  if (!value.includes('/') && value !== 'UTC') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
  } catch {
    return false;
  }
  if (knownZones.size < KNOWN_ZONES_MAX) knownZones.add(value);
  return true;
}

const LOCAL_DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/;

/**
 * An ISO-8601 instant with a zone designator, normalised to UTC (`...Z`, milliseconds), in the years
 * 0001-9999 once in UTC (PostgreSQL has no year 0 and JavaScript writes other years in an extended form).
 */
export const instant = z.iso
  .datetime({
    offset: true,
    error: (issue) =>
      typeof issue.input === 'string' && LOCAL_DATE_TIME.test(issue.input)
        ? 'must include a time zone offset, e.g. 2030-06-02T15:00:00-05:00 (or Z for UTC)'
        : 'must be an ISO-8601 date and time with a time zone offset, e.g. 2030-06-02T15:00:00-05:00',
  })
  .transform((value) => new Date(value).toISOString())
  .refine((value) => /^(?!0000)\d{4}-/.test(value), 'must be between the years 0001 and 9999 in UTC');

/** A visit's arrival window in UTC instants. */
export const timeWindow = z.object({ start: instant, end: instant }).strict();
export type TimeWindow = z.infer<typeof timeWindow>;

/** Longest allowed visit window. */
export const MAX_WINDOW_MS = 12 * 60 * 60 * 1000;

/** Who did something: the audit trail's "who". */
export const actor = z
  .object({
    type: z.enum(['integration', 'team_member', 'system', 'provider', 'operator']),
    id: z.string().min(1).max(200),
    label: z.string().max(200),
  })
  .strict();
export type Actor = z.infer<typeof actor>;

/** Where a booking came from, as the API shows it. */
export const bookingSource = z
  .object({
    actorType: z.enum(['integration', 'team_member', 'system']),
    actorId: z.string(),
    label: z.string(),
  })
  .strict();

/** `HH:MM-HH:MM` in the org's time zone; may wrap midnight (21:00-08:00). */
export const quietHours = z
  .object({
    start: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'use HH:MM on a 24-hour clock, e.g. 21:00'),
    end: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'use HH:MM on a 24-hour clock, e.g. 08:00'),
  })
  .strict();
export type QuietHours = z.infer<typeof quietHours>;

const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'must be HH:MM');

/** Weekday keys of business hours. */
export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** Opening hours per weekday in the org's time zone; a missing or empty day is closed. */
export const businessHours = z.partialRecord(
  z.enum(WEEKDAYS),
  z
    .array(
      z
        .object({ start: clock, end: clock })
        .strict()
        .refine((h) => h.start < h.end, 'end must be after start'),
    )
    .max(4),
);
export type BusinessHours = z.infer<typeof businessHours>;

/** A day the org takes no visits (local date), with a note for callers. */
export const blackoutDate = z.object({ date: z.iso.date(), reason: z.string().max(200).optional() }).strict();
export type BlackoutDate = z.infer<typeof blackoutDate>;

/** Planned actions an operator can enable per org. */
export const plannedAction = z.enum(['availability', 'lead_summary']);
export type PlannedAction = z.infer<typeof plannedAction>;
