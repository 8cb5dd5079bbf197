import { z } from 'zod';
import { bookingEvents } from './booking.ts';
import { consentEvents } from './consent.ts';
import { credentialEvents } from './credential.ts';
import { leadEvents } from './lead.ts';
import { orgEvents } from './org.ts';

export { eventMetadata, GENESIS_HASH, type EventMetadata } from './metadata.ts';

const schemas = { ...bookingEvents, ...leadEvents, ...orgEvents, ...credentialEvents, ...consentEvents };

/** Every event type the service records, mapped to its (current-version) data. */
export type EventCatalog = { [K in keyof typeof schemas]: z.output<(typeof schemas)[K]> };
/** Name of any event type in the catalog. */
export type AnyEventType = keyof EventCatalog;
/** A domain event: its type and data, discriminated by `type`. */
export type DomainEvent = { [K in AnyEventType]: { readonly type: K; readonly data: EventCatalog[K] } }[AnyEventType];
/** The event of one type. */
export type EventOf<T extends AnyEventType> = Extract<DomainEvent, { type: T }>;
/** The data of any event. */
export type EventData = DomainEvent['data'];

/** All event type names. */
export const EVENT_TYPES = Object.keys(schemas) as AnyEventType[];

/** An event type name as a filter takes it (the audit API's `type`, the CLI's `--type`). */
export const eventTypeName = z.enum(EVENT_TYPES as [AnyEventType, ...AnyEventType[]], 'must be an event type such as MissedCallRecorded');

/**
 * Current schema version per type. Bump a version by adding an upcaster from the old one below;
 * readers then see only current-version data.
 */
export const CURRENT_VERSION: { readonly [K in AnyEventType]: number } = Object.fromEntries(EVENT_TYPES.map((t) => [t, 1])) as {
  [K in AnyEventType]: number;
};

type Upcaster = (data: unknown) => unknown;
/** `"<Type>@<version>"` → function lifting that version's data to the next version. */
const upcasters: Partial<Record<`${AnyEventType}@${number}`, Upcaster>> = {};

export function isEventType(type: string): type is AnyEventType {
  return Object.hasOwn(schemas, type);
}

/** Thrown for data that does not match its type's schema, or an unknown type or version. */
export class EventSchemaError extends Error {
  override name = 'EventSchemaError';
}

/** Validates data about to be appended against the type's current schema; returns it normalised. */
export function validateEventData<T extends AnyEventType>(type: T, data: unknown): EventCatalog[T] {
  if (!isEventType(type)) throw new EventSchemaError(`unknown event type ${String(type)}`);
  const parsed = schemas[type].safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new EventSchemaError(`${type}: ${issue.path.join('.') || '(data)'} ${issue.message}`);
  }
  return parsed.data as EventCatalog[T];
}

/**
 * Parses stored data of any version into the current one (upcasting step by step). With `trusted`, data
 * stored at the current version is taken as it is: `append` validated and normalised it with this very
 * schema, so parsing it again would return it unchanged (a replay of the whole log skips that cost).
 * Upcast data is always validated.
 */
export function readEventData(type: string, version: number, data: unknown, options: { trusted?: boolean } = {}): DomainEvent {
  if (!isEventType(type)) throw new EventSchemaError(`unknown event type ${type}`);
  const current = CURRENT_VERSION[type];
  if (version > current) throw new EventSchemaError(`${type} version ${version} is newer than this code (${current})`);
  if (options.trusted && version === current) return { type, data } as DomainEvent;
  let value = data;
  for (let v = version; v < current; v++) {
    const up = upcasters[`${type}@${v}`];
    if (!up) throw new EventSchemaError(`no upcaster for ${type}@${v}`);
    value = up(value);
  }
  return { type, data: validateEventData(type, value) } as DomainEvent;
}
