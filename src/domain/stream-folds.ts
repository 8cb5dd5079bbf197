import { evolve as evolveBooking } from './booking.ts';
import { evolve as evolveCredential } from './credential.ts';
import type { Envelope } from './envelope.ts';
import { evolve as evolveLead } from './lead.ts';
import { evolve as evolveOrg } from './org.ts';

/** How one kind of stream folds: its state before any event, and how each event moves it. */
export interface StreamFold {
  readonly initial: unknown;
  readonly evolve: (state: unknown, event: Envelope) => unknown;
}

type Fold = StreamFold['evolve'];

/**
 * Every stream kind of the store (DESIGN "Event store rules"), by its name's prefix, with the aggregate's
 * own `evolve`: what `audit state` (CLI) and `GET /audit/state` (internal API) fold a stream with.
 */
export const STREAM_FOLDS: Readonly<Record<string, StreamFold>> = {
  'booking-': { initial: null, evolve: evolveBooking as Fold },
  'lead-': { initial: null, evolve: evolveLead as Fold },
  'org-': { initial: null, evolve: evolveOrg as Fold },
  'credential-': { initial: null, evolve: evolveCredential as Fold },
};

/** The fold of a stream name (`lead-<uuid>` → the lead's), or undefined for a name no aggregate owns. */
export function foldOf(streamId: string): StreamFold | undefined {
  const prefix = Object.keys(STREAM_FOLDS).find((p) => streamId.startsWith(p));
  return prefix === undefined ? undefined : STREAM_FOLDS[prefix];
}
