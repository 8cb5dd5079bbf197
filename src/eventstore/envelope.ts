import type { DomainEvent } from '../domain/events/index.ts';
import type { Envelope } from '../domain/envelope.ts';
import type { RecordedEvent } from './port.ts';

/** The domain's view of a recorded event. */
export function toEnvelope<E extends DomainEvent>(event: RecordedEvent<E>): Envelope<E> {
  return { type: event.type, data: event.data, occurredAt: event.metadata.occurredAt } as unknown as Envelope<E>;
}
