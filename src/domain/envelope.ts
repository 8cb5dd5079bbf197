import type { DomainEvent } from './events/index.ts';

/** A domain event as `evolve` sees it: the event plus when it happened. */
export type Envelope<E extends DomainEvent = DomainEvent> = E & { readonly occurredAt: string };
