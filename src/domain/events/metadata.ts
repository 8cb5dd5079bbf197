import { z } from 'zod';
import { actor } from '../values.ts';

/** Metadata every event carries (DESIGN.md "Event store rules"). */
export const eventMetadata = z
  .object({
    orgId: z.uuid(),
    actor,
    correlationId: z.string().min(1).max(200),
    causationId: z.string().min(1).max(200),
    idempotencyKey: z.string().max(255).optional(),
    requestHash: z.string().max(128).optional(),
    occurredAt: z.iso.datetime({ offset: true }),
    /** The surface an actor acted through, when not the HTTP API itself: `mcp` (an AI agent's MCP call). */
    via: z.enum(['mcp']).optional(),
    schemaVersion: z.number().int().positive(),
    /** Hash of the previous event in the same stream; 64 zeros for the first. */
    prevHash: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .strict();

/** Metadata of a stored event. */
export type EventMetadata = z.infer<typeof eventMetadata>;

/** prevHash of a stream's first event. */
export const GENESIS_HASH = '0'.repeat(64);
