import type { Actor } from '../domain/values.ts';
import type { EventStore } from '../eventstore/port.ts';

/** What every command handler needs: the store and the clock (tests pass a controllable one). */
export interface CommandDeps {
  readonly store: EventStore;
  readonly clock: () => Date;
}

/** Who is asking and under which correlation; becomes the events' metadata. */
export interface CommandCaller {
  readonly orgId: string;
  readonly actor: Actor;
  readonly correlationId: string;
  readonly causationId?: string;
}
