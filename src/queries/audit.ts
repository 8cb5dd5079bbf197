import type { Actor } from '../domain/values.ts';
import { summarize } from '../domain/summary.ts';
import type { AnyEventType, DomainEvent } from '../domain/events/index.ts';
import { foldOf } from '../domain/stream-folds.ts';
import { type EventStore, type Position, type RecordedEvent } from '../eventstore/port.ts';
import { comparePositions, formatPosition, parsePosition } from '../eventstore/position.ts';
import { toEnvelope } from '../eventstore/envelope.ts';
import { z } from 'zod';
import { InvalidCursorError } from './cursor.ts';

/** One event of an org's audit timeline. */
export interface AuditEvent {
  /** Global commit-order position (`<commit>.<prepare>`). */
  readonly position: string;
  readonly streamId: string;
  readonly revision: number;
  readonly id: string;
  readonly type: string;
  readonly occurredAt: string;
  readonly recordedAt: string;
  readonly actor: Actor;
  /** The surface the actor acted through when not the HTTP API itself (`mcp`). */
  readonly via?: 'mcp';
  readonly correlationId: string;
  readonly causationId: string;
  readonly summary: string;
  readonly data: unknown;
}

/** Filters of {@link listAuditEvents}; `since` inclusive, `until` exclusive (event time). */
export interface AuditQuery {
  readonly stream?: string;
  /** Only events of this type. */
  readonly type?: AnyEventType;
  /** Only events whose actor has this id (a member id, a credential id, `twilio`, `automation`, ...). */
  readonly actor?: string;
  readonly since?: string;
  readonly until?: string;
  readonly cursor?: string;
  readonly limit: number;
}

const PAGE = 500;
/** Events scanned per request at most; a sparse filter answers fewer than `limit` with a cursor to go on. */
const SCAN_BUDGET = 10_000;

function encodeCursor(position: Position): string {
  return Buffer.from(formatPosition(position)).toString('base64url');
}

function decodeCursor(cursor: string): Position {
  const position = parsePosition(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!position) throw new InvalidCursorError('cursor is not one this API returned');
  return position;
}

/** Secrets never leave through the audit API, not even hashed. */
function redact(event: RecordedEvent): unknown {
  if (event.type === 'CredentialIssued') return { ...event.data, tokenHash: '[redacted]' };
  return event.data;
}

/** A folded state as the audit API shows it: a credential's token hash is redacted as in its events. */
function redactState(state: unknown): unknown {
  if (Array.isArray(state)) return state.map(redactState);
  if (!state || typeof state !== 'object' || Object.getPrototypeOf(state) !== Object.prototype) return state;
  return Object.fromEntries(Object.entries(state).map(([key, value]) => [key, key === 'tokenHash' ? '[redacted]' : redactState(value)]));
}

/** An event as the audit timeline shows it: the one shape of the audit API and of `callsnare audit timeline --json`. */
export function toAuditEvent(event: RecordedEvent): AuditEvent {
  const m = event.metadata;
  return {
    position: formatPosition(event.position),
    streamId: event.streamId,
    revision: event.revision,
    id: event.id,
    type: event.type,
    occurredAt: new Date(m.occurredAt).toISOString(),
    recordedAt: event.recordedAt.toISOString(),
    actor: m.actor,
    ...(m.via && { via: m.via }),
    correlationId: m.correlationId,
    causationId: m.causationId,
    summary: summarize({ type: event.type, data: event.data } as DomainEvent),
    data: redact(event),
  };
}

/** An actor id as the audit filters take it: a member id, a credential id, `twilio`, `automation`, ... */
export const auditActorId = z.string().min(1, 'must not be empty').max(200);

/** Where {@link readAuditEvents} starts (exclusive; null: the first event) and how many it returns at most. */
export interface AuditPageRequest extends Omit<AuditQuery, 'cursor'> {
  readonly from: Position | null;
}

/**
 * One page of an org's events in commit order, read from the event store itself (filter `orgId`),
 * optionally one stream, type, actor and an event-time range. `next` is where the following page starts,
 * null once the end of the store is reached. The API and `callsnare audit timeline` both page with it.
 */
export async function readAuditEvents(
  store: EventStore,
  orgId: string,
  query: AuditPageRequest,
): Promise<{ events: RecordedEvent[]; next: Position | null }> {
  let from = query.from;
  const since = query.since ? Date.parse(query.since) : -Infinity;
  const until = query.until ? Date.parse(query.until) : Infinity;
  const events: RecordedEvent[] = [];
  let scanned = 0;
  for (;;) {
    const page = await store.readAll({
      from,
      limit: PAGE,
      filter: { orgId, ...(query.stream && { streamPrefixes: [query.stream] }), ...(query.type && { eventTypes: [query.type] }) },
    });
    for (const event of page.events) {
      from = event.position;
      if (query.stream && event.streamId !== query.stream) continue;
      if (query.actor && event.metadata.actor.id !== query.actor) continue;
      const at = Date.parse(event.metadata.occurredAt);
      if (at < since || at >= until) continue;
      events.push(event);
      if (events.length === query.limit) return { events, next: event.position };
    }
    scanned += page.events.length;
    // A filtered page may skip events: carry on from where the store says it stopped.
    if (page.checkpoint && comparePositions(page.checkpoint, from) > 0) from = page.checkpoint;
    if (page.events.length < PAGE) return { events, next: null };
    if (scanned >= SCAN_BUDGET) return { events, next: from };
  }
}

/** A page of an org's audit timeline as the API answers it (see {@link readAuditEvents}). */
export async function listAuditEvents(
  store: EventStore,
  orgId: string,
  query: AuditQuery,
): Promise<{ data: AuditEvent[]; nextCursor: string | null }> {
  const { cursor, ...filters } = query;
  const { events, next } = await readAuditEvents(store, orgId, { ...filters, from: cursor ? decodeCursor(cursor) : null });
  return { data: events.map(toAuditEvent), nextCursor: next ? encodeCursor(next) : null };
}

/** An instant (event time, inclusive) or a store position (inclusive) to fold a stream up to. */
export type AsOf = { readonly position: Position } | { readonly time: Date };

/** One stream's state as of an instant or position: what an auditor asks "what did we know then". */
export interface StreamStateAsOf {
  readonly stream: string;
  /** Revision of the last event folded; -1 when none was. */
  readonly revision: number;
  /** Events folded, of `total` in the stream. */
  readonly events: number;
  readonly total: number;
  /** Position of the last event folded. */
  readonly position: string | null;
  readonly state: unknown;
}

/** The stream has no fold (its name is no aggregate's). */
export class UnknownStreamKindError extends Error {
  override name = 'UnknownStreamKindError';
}

/**
 * Folds a stream with its aggregate's `evolve` (STREAM_FOLDS) up to `asOf`. Undefined when the stream does
 * not exist or (with `orgId`) belongs to another org, so both look the same.
 */
export async function streamStateAsOf(store: EventStore, stream: string, asOf: AsOf, orgId?: string): Promise<StreamStateAsOf | undefined> {
  const fold = foldOf(stream);
  if (!fold) throw new UnknownStreamKindError(`no fold for ${stream}`);
  const events = await store.readStream(stream);
  if (events.length === 0 || (orgId !== undefined && events[0]!.metadata.orgId !== orgId)) return undefined;
  const included = events.filter((e) =>
    'position' in asOf ? comparePositions(e.position, asOf.position) <= 0 : Date.parse(e.metadata.occurredAt) <= asOf.time.getTime(),
  );
  const last = included.at(-1);
  return {
    stream,
    revision: last?.revision ?? -1,
    events: included.length,
    total: events.length,
    position: last ? formatPosition(last.position) : null,
    state: redactState(included.reduce((s, e) => fold.evolve(s, toEnvelope(e)), fold.initial)),
  };
}
