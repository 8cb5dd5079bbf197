import { toInstant } from './format.ts';

/** A visit window as a person types it: a local date and two local times in the org's zone. */
export interface LocalWindow {
  date: string;
  start: string;
  end: string;
}

/** Date, From and To inputs for a visit window (labelled; ids prefixed by `id`). */
export function WindowFields({ id, value, onChange }: { id: string; value: LocalWindow; onChange(next: LocalWindow): void }) {
  return (
    <>
      <label htmlFor={`${id}-date`}>Date</label>
      <input id={`${id}-date`} type="date" value={value.date} required onChange={(e) => onChange({ ...value, date: e.target.value })} />
      <div className="row">
        <div>
          <label htmlFor={`${id}-start`}>From</label>
          <input
            id={`${id}-start`}
            type="time"
            value={value.start}
            required
            onChange={(e) => onChange({ ...value, start: e.target.value })}
          />
        </div>
        <div>
          <label htmlFor={`${id}-end`}>To</label>
          <input id={`${id}-end`} type="time" value={value.end} required onChange={(e) => onChange({ ...value, end: e.target.value })} />
        </div>
      </div>
    </>
  );
}

/** The window as UTC instants, or null when a field is incomplete. */
export function windowOf(value: LocalWindow, zone: string): { start: string; end: string } | null {
  const start = toInstant(value.date, value.start, zone);
  const end = toInstant(value.date, value.end, zone);
  return start && end ? { start, end } : null;
}
