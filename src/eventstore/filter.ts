import type { EventFilter } from './port.ts';

/** Whether an event passes every criterion of the filter (none: everything passes). */
export function matchesFilter(
  filter: EventFilter | undefined,
  event: { readonly streamId: string; readonly type: string; readonly metadata: unknown },
): boolean {
  if (!filter) return true;
  if (filter.streamPrefixes?.length && !filter.streamPrefixes.some((prefix) => event.streamId.startsWith(prefix))) return false;
  if (filter.eventTypes?.length && !(filter.eventTypes as readonly string[]).includes(event.type)) return false;
  if (filter.orgId !== undefined) {
    const metadata = event.metadata;
    const orgId =
      typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata) && !ArrayBuffer.isView(metadata)
        ? (metadata as { orgId?: unknown }).orgId
        : undefined;
    if (orgId !== filter.orgId) return false;
  }
  return true;
}

/**
 * A filter passing every event that passes any of `filters` (maybe more: the criteria are united one by
 * one, so a reader of the union still filters each event per subscriber with {@link matchesFilter}).
 */
export function unionFilter(filters: readonly (EventFilter | undefined)[]): EventFilter | undefined {
  if (filters.length === 0 || filters.some((f) => !f)) return undefined;
  const all = filters as readonly EventFilter[];
  const prefixes = all.every((f) => f.streamPrefixes?.length) ? [...new Set(all.flatMap((f) => f.streamPrefixes!))] : undefined;
  const types = all.every((f) => f.eventTypes?.length) ? [...new Set(all.flatMap((f) => f.eventTypes!))] : undefined;
  const orgId = all.every((f) => f.orgId !== undefined && f.orgId === all[0]!.orgId) ? all[0]!.orgId : undefined;
  return { ...(prefixes && { streamPrefixes: prefixes }), ...(types && { eventTypes: types }), ...(orgId !== undefined && { orgId }) };
}
