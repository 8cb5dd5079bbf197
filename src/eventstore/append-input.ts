import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { CURRENT_VERSION, eventMetadata, validateEventData } from '../domain/events/index.ts';
import { contentDigest } from './hash.ts';
import { InvalidEventError, type EventToAppend } from './port.ts';

const appendMetadata = eventMetadata.omit({ prevHash: true });
const eventId = z.uuid();

/** An event checked against the catalog and ready for either adapter to write. */
export interface PreparedEvent {
  readonly id: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: unknown;
  /** Metadata without `prevHash` (the store adds the chain link). */
  readonly metadata: z.output<typeof appendMetadata>;
  readonly digest: string;
}

/** Validates and normalises a batch for `append`; throws {@link InvalidEventError} naming the problem. */
export function prepareEvents(streamId: string, events: readonly EventToAppend[]): PreparedEvent[] {
  if (events.length === 0) throw new InvalidEventError('append needs at least one event');
  const orgIds = new Set<string>();
  const prepared = events.map((event) => {
    // Both stores return ids in lowercase; hash what will be read back.
    const id = (event.id ?? randomUUID()).toLowerCase();
    if (!eventId.safeParse(id).success) throw new InvalidEventError(`event id ${id} is not a UUID`);
    let data: unknown;
    try {
      data = validateEventData(event.type, event.data);
    } catch (error) {
      throw new InvalidEventError((error as Error).message);
    }
    const schemaVersion = CURRENT_VERSION[event.type];
    const meta = appendMetadata.safeParse({ ...event.metadata, schemaVersion });
    if (!meta.success) {
      const issue = meta.error.issues[0]!;
      throw new InvalidEventError(`${event.type} metadata: ${issue.path.join('.')} ${issue.message}`);
    }
    orgIds.add(meta.data.orgId);
    const digest = contentDigest({ streamId, id, type: event.type, data, metadata: meta.data });
    return { id, type: event.type, schemaVersion, data, metadata: meta.data, digest };
  });
  if (orgIds.size > 1) throw new InvalidEventError('all events of one append must belong to one org');
  if (new Set(prepared.map((e) => e.id)).size !== prepared.length)
    throw new InvalidEventError('event ids within an append must be distinct');
  return prepared;
}
