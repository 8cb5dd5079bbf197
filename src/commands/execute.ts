import { randomUUID } from 'node:crypto';
import type { DomainEvent } from '../domain/events/index.ts';
import { toEnvelope } from '../eventstore/envelope.ts';
import {
  type AppendMetadata,
  type EventStore,
  IdempotencyKeyClaimedError,
  type Position,
  type RecordedEvent,
  WrongExpectedRevisionError,
} from '../eventstore/port.ts';
import type { Envelope } from '../domain/envelope.ts';
import type { CommandCaller, CommandDeps } from './context.ts';
import { ConcurrencyConflictError, IdempotencyKeyReusedError } from './errors.ts';
import { eventIdsFromKey, type IdempotencyInput } from '../domain/ids.ts';

/** A stream read and folded: its events, state and last revision (-1: no stream). */
export interface LoadedStream<S, E extends DomainEvent> {
  readonly events: RecordedEvent<E>[];
  readonly state: S;
  readonly revision: number;
}

/** Reads a stream (empty if absent) and folds it. */
export async function loadStream<S, E extends DomainEvent>(
  store: EventStore,
  streamId: string,
  evolve: (state: S, event: Envelope<E>) => S,
  initial: S,
): Promise<LoadedStream<S, E>> {
  const events = (await store.readStream(streamId)) as RecordedEvent<E>[];
  return { events, state: events.reduce((s, e) => evolve(s, toEnvelope(e)), initial), revision: events.at(-1)?.revision ?? -1 };
}

/** A stream not written yet, as {@link loadStream} would return it: `execute` then appends with `no_stream` without a read. */
export function newStream<S, E extends DomainEvent>(initial: S): LoadedStream<S, E> {
  return { events: [], state: initial, revision: -1 };
}

/** Builds event metadata for a caller at a time. */
export function metadataFor(caller: CommandCaller, occurredAt: Date, extra: Partial<AppendMetadata> = {}): AppendMetadata {
  return {
    orgId: caller.orgId,
    actor: caller.actor,
    correlationId: caller.correlationId,
    causationId: caller.causationId ?? caller.correlationId,
    occurredAt: occurredAt.toISOString(),
    ...(caller.via && { via: caller.via }),
    ...extra,
  };
}

/** What one attempt decided: events to append, or a finished result found in the stream. */
export type Decision<E extends DomainEvent, R> = { readonly append: E[]; readonly eventIds?: string[] } | { readonly done: R };

/**
 * Result of {@link execute}. `appended.duplicate`: the store already held these very events (same ids at
 * that place: an identical write, retried or concurrent, got there first) and wrote nothing.
 */
export type Executed<S, E extends DomainEvent, R> =
  | {
      readonly kind: 'appended';
      readonly state: S;
      readonly events: E[];
      readonly revision: number;
      readonly position: Position | null;
      readonly duplicate: boolean;
    }
  | { readonly kind: 'done'; readonly result: R };

/**
 * The one way to append: load → decide → append with the loaded revision. A concurrent writer makes the
 * append conflict; then the stream is re-read and the decision taken again, so a conflict surfaces only
 * when the decision itself changes (decide throws) or writers keep colliding past `retries` (default 5;
 * a stream many writers hit at once, such as the lead a burst of texts lands on, takes more).
 *
 * Deterministic event ids (`eventIds` of the decision, see `domain/ids.ts`) make an identical write
 * append nothing: the result says `duplicate`.
 *
 * With `idempotency`, the events carry the key and request hash, their ids derive from (key, request),
 * and the store claims the key with the append. So whatever the interleaving, across processes too:
 * the same request racing itself collapses into one append, and the loser re-reads and lets `decide`
 * replay the winner's events; another request under the same key (here or on another stream) is
 * refused with {@link IdempotencyKeyReusedError}.
 */
export async function execute<S, E extends DomainEvent, R = never>(
  deps: CommandDeps,
  caller: CommandCaller,
  options: {
    readonly streamId: string;
    readonly evolve: (state: S, event: Envelope<E>) => S;
    readonly initial: S;
    readonly decide: (loaded: LoadedStream<S, E>, now: Date) => Decision<E, R>;
    readonly metadata?: Partial<AppendMetadata>;
    readonly idempotency?: IdempotencyInput | undefined;
    readonly retries?: number;
    /**
     * The stream as the caller just read it (with {@link loadStream}), or {@link newStream} for an id that
     * is almost surely new (freshly minted or key-derived): the first attempt decides on it instead of
     * reading; if the stream moved on since (or exists), the append conflicts and the usual re-read and
     * decide follow.
     */
    readonly loaded?: LoadedStream<S, E>;
  },
): Promise<Executed<S, E, R>> {
  const retries = options.retries ?? 5;
  const keptChanging = () => new ConcurrencyConflictError(`stream ${options.streamId} kept changing; try again`);
  for (let attempt = 0; ; attempt++) {
    const loaded: LoadedStream<S, E> =
      attempt === 0 && options.loaded ? options.loaded : await loadStream(deps.store, options.streamId, options.evolve, options.initial);
    const now = deps.clock();
    const decision = options.decide(loaded, now);
    if ('done' in decision) return { kind: 'done', result: decision.done };
    if (decision.append.length === 0) {
      const position = loaded.events.at(-1)?.position ?? null;
      return { kind: 'appended', state: loaded.state, events: [], revision: loaded.revision, position, duplicate: false };
    }
    const idempotency = options.idempotency;
    const metadata = metadataFor(caller, now, {
      ...options.metadata,
      ...(idempotency && { idempotencyKey: idempotency.key, requestHash: idempotency.requestHash }),
    });
    const ids = decision.eventIds ?? (idempotency && eventIdsFromKey(caller.orgId, options.streamId, idempotency, decision.append.length));
    try {
      const result = await deps.store.append(
        options.streamId,
        decision.append.map((event, i) => ({ id: ids?.[i] ?? randomUUID(), type: event.type, data: event.data, metadata })),
        { expectedRevision: loaded.revision === -1 ? 'no_stream' : loaded.revision, ...(idempotency && { claim: idempotency }) },
      );
      if (result.duplicate && idempotency) {
        // The same request got there first (another process, or a retry): answer with what it recorded.
        if (attempt >= retries) throw keptChanging();
        continue;
      }
      const state = decision.append.reduce((s, e) => options.evolve(s, { ...e, occurredAt: metadata.occurredAt }), loaded.state);
      return {
        kind: 'appended',
        state,
        events: decision.append,
        revision: result.nextRevision,
        position: result.position,
        duplicate: result.duplicate,
      };
    } catch (error) {
      if (error instanceof IdempotencyKeyClaimedError) throw new IdempotencyKeyReusedError();
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
      if (attempt >= retries) throw keptChanging();
    }
  }
}
