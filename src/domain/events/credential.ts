import { z } from 'zod';
import { instant, uuid } from '../values.ts';
import { memberRole } from './org.ts';

/** Scopes of integration tokens. */
export const scope = z.enum(['READ_BOOKINGS', 'WRITE_BOOKINGS', 'READ_AVAILABILITY', 'READ_LEAD_SUMMARY']);
export type Scope = z.infer<typeof scope>;

/** Credential stream events, version 1 each. Only a token's SHA-256 hash is ever recorded. */
export const credentialEvents = {
  CredentialIssued: z
    .object({
      credentialId: uuid,
      orgId: uuid,
      kind: z.enum(['integration', 'member']),
      label: z.string().min(1).max(200),
      scopes: z.array(scope),
      tokenHash: z.string().regex(/^[0-9a-f]{64}$/),
      memberId: uuid.optional(),
      role: memberRole.optional(),
      expiresAt: instant.optional(),
    })
    .strict(),
  CredentialRevoked: z.object({ credentialId: uuid, reason: z.string().max(500).optional() }).strict(),
} as const;
