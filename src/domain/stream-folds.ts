import { bookingStream, evolve as evolveBooking } from './booking.ts';
import { consentStream, evolve as evolveConsent } from './consent.ts';
import { credentialStream, evolve as evolveCredential } from './credential.ts';
import type { Envelope } from './envelope.ts';
import { bookingEvents } from './events/booking.ts';
import { consentEvents } from './events/consent.ts';
import { credentialEvents } from './events/credential.ts';
import type { AnyEventType } from './events/index.ts';
import { leadEvents } from './events/lead.ts';
import { orgEvents } from './events/org.ts';
import { evolve as evolveLead, leadStream } from './lead.ts';
import { evolve as evolveOrg, orgStream } from './org.ts';

/** How one kind of stream folds: its state before any event, and how each event moves it. */
export interface StreamFold {
  readonly initial: unknown;
  readonly evolve: (state: unknown, event: Envelope) => unknown;
  /** The event types its streams hold (its aggregate's events in the catalog). */
  readonly eventTypes: readonly AnyEventType[];
}

/** The fold of an aggregate's streams, keyed by the prefix its stream-name function gives. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- E ties each aggregate's evolve to its own events at the call site.
function aggregate<S, E>(stream: (id: string) => string, events: Record<string, unknown>, evolve: (state: S | null, event: E) => S | null) {
  const fold: StreamFold = { initial: null, evolve: evolve as StreamFold['evolve'], eventTypes: Object.keys(events) as AnyEventType[] };
  return [stream(''), fold] as const;
}

/**
 * Every stream kind of the store (DESIGN "Event store rules"), by its name's prefix, with the aggregate's
 * own `evolve`: what `audit state` (CLI) and `GET /audit/state` (internal API) fold a stream with. A new
 * aggregate adds its line here; a unit test checks that every event type of the catalog has a fold.
 */
export const STREAM_FOLDS: Readonly<Record<string, StreamFold>> = Object.fromEntries([
  aggregate(bookingStream, bookingEvents, evolveBooking),
  aggregate(leadStream, leadEvents, evolveLead),
  aggregate(orgStream, orgEvents, evolveOrg),
  aggregate(credentialStream, credentialEvents, evolveCredential),
  aggregate(consentStream, consentEvents, evolveConsent),
]);

/** The fold of a stream name (`lead-<uuid>` → the lead's), or undefined for a name no aggregate owns. */
export function foldOf(streamId: string): StreamFold | undefined {
  const prefix = Object.keys(STREAM_FOLDS).find((p) => streamId.startsWith(p));
  return prefix === undefined ? undefined : STREAM_FOLDS[prefix];
}
