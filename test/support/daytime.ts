/**
 * For tests whose processes run on the real clock: texts honour the recipient's quiet hours (08:00–21:00
 * local), so such a test gives its org a time zone where it is about midday now, and texts numbers whose
 * area code the area-code table does not know (their texts follow the org's zone).
 */
export function daytimeZone(now = new Date()): string {
  const offset = ((12 - now.getUTCHours() + 36) % 24) - 12; // hours ahead of UTC, -12..11
  return offset === 0 ? 'Etc/UTC' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`;
}

/** A NANP area code that is no place (555): a number with it follows the org's zone and the default hours. */
export const NO_PLACE = '+1555';
