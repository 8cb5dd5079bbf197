import { DateTime } from 'luxon';

/** A date-time in the org's zone, with the zone's short name (e.g. "Tue, Dec 1, 9:00 AM CST"). */
export function when(iso: string, zone: string): string {
  return DateTime.fromISO(iso, { zone }).toFormat('ccc, LLL d, h:mm a ZZZZ');
}

/** A time of day in the org's zone ("9:00 AM"). */
export function timeOfDay(iso: string, zone: string): string {
  return DateTime.fromISO(iso, { zone }).toFormat('h:mm a');
}

/** "5 min", "2 h 10 min", "3 d" since an instant. */
export function since(iso: string, now: number = Date.now()): string {
  const minutes = Math.max(0, Math.floor((now - Date.parse(iso)) / 60_000));
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d`;
}

/** The zone's long name for headings ("America/Chicago (CST)"). */
export function zoneName(zone: string): string {
  return `${zone} (${DateTime.now().setZone(zone).toFormat('ZZZZ')})`;
}

/** A phone number as people read it (US numbers grouped). */
export function phone(e164: string): string {
  const m = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(e164);
  return m ? `(${m[1]}) ${m[2]}-${m[3]}` : e164;
}

/** The ISO week ("2026-W49") containing an instant, in a zone. */
export function isoWeekOf(at: DateTime): string {
  return `${at.weekYear}-W${String(at.weekNumber).padStart(2, '0')}`;
}

/** Local date + time in a zone → ISO instant (UTC). */
export function toInstant(date: string, time: string, zone: string): string | null {
  const dt = DateTime.fromISO(`${date}T${time}`, { zone });
  return dt.isValid ? dt.toUTC().toISO({ suppressMilliseconds: true }) : null;
}

/** "5 min ago", or "just now". */
export function ago(iso: string, now: number = Date.now()): string {
  const s = since(iso, now);
  return s === 'just now' ? s : `${s} ago`;
}
