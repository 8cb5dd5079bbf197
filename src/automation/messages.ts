import type { Booking } from '../domain/booking.ts';

/**
 * Bodies of the texts the automation sends. Plain ASCII spacing on purpose: the narrow no-break spaces
 * ICU puts in times ("9:00 AM") would force UCS-2 and double an SMS's segment count.
 */

const windowFormats = new Map<string, Intl.DateTimeFormat>();

function windowFormat(timeZone: string): Intl.DateTimeFormat {
  let f = windowFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      weekday: 'short',
      month: 'short',
      day: 'numeric',
      hour: 'numeric',
      minute: '2-digit',
      timeZoneName: 'short',
    });
    windowFormats.set(timeZone, f);
  }
  return f;
}

const ascii = (text: string) => text.replace(/[\u202f\u2009\u00a0]/g, ' ').replace(/\u2013/g, '-');

/** Windows as last described: ICU's formatRange costs more than the rest of a job's JavaScript. */
const described = new Map<string, string>();
const DESCRIBED_MAX = 10_000;

/** "Tue, Mar 11, 9:00 - 11:00 AM CDT" in the booking's time zone. */
export function describeWindow(window: Booking['window'], timeZone: string): string {
  const key = `${timeZone} ${window.start} ${window.end}`;
  let text = described.get(key);
  if (text === undefined) {
    text = ascii(windowFormat(timeZone).formatRange(new Date(window.start), new Date(window.end)));
    if (described.size >= DESCRIBED_MAX) described.delete(described.keys().next().value!);
    described.set(key, text);
  }
  return text;
}

export function confirmationBody(business: string, booking: Booking): string {
  return `${business}: your visit is confirmed for ${describeWindow(booking.window, booking.timezone)}. Reply to this text with any questions.`;
}

export function reminderBody(business: string, booking: Booking): string {
  return `Reminder from ${business}: your visit is ${describeWindow(booking.window, booking.timezone)}. Reply to this text if you need to change it.`;
}

export function rescheduledBody(business: string, booking: Booking): string {
  return `${business}: your visit moved to ${describeWindow(booking.window, booking.timezone)}. Reply to this text if that time does not work.`;
}

export function canceledBody(business: string, booking: Booking): string {
  return `${business}: your visit on ${describeWindow(booking.window, booking.timezone)} was canceled. Reply to this text to book a new time.`;
}

/** The org's text-back template with `{{business}}` replaced by the org's name. */
export function textBackBody(template: string, business: string): string {
  return template.replace(/\{\{\s*business\s*\}\}/g, business);
}
