import type { QuietHours } from '../domain/values.ts';
import { areaCodeOf } from './area-codes.ts';

/** Allowed texting hours by default (local time of the recipient): 08:00–21:00. */
export const DEFAULT_ALLOWED = { start: '08:00', end: '21:00' } as const;

/**
 * States that narrow the hours for marketing/automated texts (their telephone-solicitation statutes):
 * FL (Fla. Stat. 501.616(6)), OK (15 O.S. 775C.4), MD (Stop the Spam Calls Act 2023), MS (Miss. Code
 * 77-3-725), NJ (N.J.S.A. 56:8-128), WA (RCW 80.36.390) 08:00–20:00; CT (Conn. Gen. Stat. 42-288a)
 * 09:00–20:00. Texas (Bus. & Com. Code 301.051: 09:00–21:00, Sundays from noon) governs telephone
 * solicitation, not the transactional texts sent here; it keeps the default.
 */
export const STATE_ALLOWED: Readonly<Record<string, { start: string; end: string }>> = {
  FL: { start: '08:00', end: '20:00' },
  OK: { start: '08:00', end: '20:00' },
  MD: { start: '08:00', end: '20:00' },
  MS: { start: '08:00', end: '20:00' },
  NJ: { start: '08:00', end: '20:00' },
  WA: { start: '08:00', end: '20:00' },
  CT: { start: '09:00', end: '20:00' },
};

/** The recipient's quiet hours in each zone that applies to their number. */
export interface RecipientQuiet {
  /** The US state of the area code; undefined for an unknown code, a NANP code outside the states, or a number outside NANP. */
  readonly state?: string;
  /** Known: the code's zone(s); unknown: the org's zone. */
  readonly zones: readonly string[];
  /** Quiet hours (the complement of the allowed hours), as the org's quiet hours are written. */
  readonly quiet: QuietHours;
  /** Human words for the timeline: "recipient's quiet hours (FL, America/New_York, texts 08:00–20:00)". */
  readonly label: string;
}

/**
 * The recipient's quiet hours from their number's area code (area-codes.ts): a code outside the US states
 * gets its zone(s) and the default hours; an unknown code or a number outside NANP gets the org's zone and
 * the default hours.
 */
export function recipientQuiet(phone: string, orgTimeZone: string): RecipientQuiet {
  const code = areaCodeOf(phone);
  const allowed = (code?.state && STATE_ALLOWED[code.state]) || DEFAULT_ALLOWED;
  const zones = code?.zones ?? [orgTimeZone];
  const where = code ? [...(code.state ? [code.state] : []), zones.join(' and ')].join(', ') : `unknown area, org's zone ${orgTimeZone}`;
  return {
    ...(code?.state && { state: code.state }),
    zones,
    quiet: { start: allowed.end, end: allowed.start },
    label: `recipient's quiet hours (${where}: texts ${allowed.start}–${allowed.end})`,
  };
}
