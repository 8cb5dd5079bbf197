import type { Actor } from '../domain/values.ts';
import type { EventStore } from '../eventstore/port.ts';

/** What every command handler needs: the store and the clock (tests pass a controllable one). */
export interface CommandDeps {
  readonly store: EventStore;
  readonly clock: () => Date;
}

/** An org and the head of its stream's hash chain (the last event's hash) at a moment. */
export interface OrgSeen {
  readonly orgId: string;
  readonly lastHash: string;
}

/** Who is asking and under which correlation; becomes the events' metadata. */
export interface CommandCaller {
  readonly orgId: string;
  readonly actor: Actor;
  readonly correlationId: string;
  readonly causationId?: string;
  /** The surface the caller came through when it is not the HTTP API itself (`mcp`): recorded in the events' metadata. */
  readonly via?: 'mcp';
  /**
   * The org stream's head as read when the request was authenticated (PostgreSQL store), so a command
   * may use that org as this process folded it up to that very event instead of reading the stream.
   */
  readonly orgSeen?: OrgSeen;
}
