import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { issueCredential, loadCredential, revokeCredential } from '../../../../identity/index.ts';
import { NotFoundError } from '../../../../domain/errors.ts';
import type { CredentialRecord } from '../../../../identity/index.ts';
import { listCredentials } from '../../../../identity/index.ts';
import { catchUpCredentials } from '../../../../projections/read-models/credentials.ts';
import { callerOf, depsOf } from '../../../plugins/caller.ts';
import { awaitConsistency, readsOf, setConsistencyToken } from '../../../common/consistency.ts';
import { authOf } from '../../../plugins/authentication.ts';
import { problems } from '../../../common/problem.ts';
import { ROLES, requireRole } from '../../../plugins/authorization.ts';
import { issueTokenBody, revokeTokenBody, tokenParams } from './schemas.ts';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** An integration token as admins see it: never the secret (not stored) nor its hash. */
function tokenView(c: CredentialRecord) {
  return {
    id: c.id,
    label: c.label,
    scopes: c.scopes,
    createdAt: c.createdAt.toISOString(),
    lastUsedAt: iso(c.lastUsedAt),
    expiresAt: iso(c.expiresAt),
    revokedAt: iso(c.revokedAt),
  };
}

/** Integration tokens of the org (owner, admin): list, issue (the secret is shown once), revoke. */
export const tokenRoutes: FastifyPluginAsyncZod = async (app) => {
  const allowed = requireRole(ROLES.settings);

  app.get('/tokens', { preHandler: allowed }, async (request) => {
    await awaitConsistency(request, ['credentials']);
    const all = await listCredentials(readsOf(request).db, authOf(request).orgId);
    return { data: all.filter((c) => c.kind === 'integration').map(tokenView) };
  });

  app.post('/tokens', { preHandler: allowed, schema: { body: issueTokenBody } }, async (request, reply) => {
    const { label, scopes, expiresAt } = request.body;
    const issued = await issueCredential(depsOf(request), callerOf(request), {
      orgId: authOf(request).orgId,
      label,
      kind: 'integration',
      scopes,
      ...(expiresAt && { expiresAt }),
    });
    setConsistencyToken(reply, issued.position);
    reply.header('cache-control', 'no-store');
    return reply
      .code(201)
      .send({ id: issued.id, label: issued.label, scopes: issued.scopes, expiresAt: expiresAt ?? null, token: issued.token });
  });

  app.delete(
    '/tokens/:tokenId',
    { preHandler: allowed, schema: { params: tokenParams, body: revokeTokenBody } },
    async (request, reply) => {
      const orgId = authOf(request).orgId;
      const { tokenId } = request.params;
      // Another org's token, or a member token, is not one of these: 404 like an absent one.
      const existing = await loadCredential(depsOf(request), tokenId).catch((error: unknown) => {
        if (error instanceof NotFoundError) return null;
        throw error;
      });
      if (!existing || existing.data.orgId !== orgId || existing.data.kind !== 'integration') throw problems.notFound('token');
      const reason = request.body?.reason;
      const { credential, position } = await revokeCredential(depsOf(request), callerOf(request), tokenId, reason);
      // As `callsnare token revoke` does: once this answers, every process refuses the token.
      await catchUpCredentials(request.server.services, position);
      setConsistencyToken(reply, position);
      return { id: credential.id, label: credential.data.label, revokedAt: credential.revokedAt ?? null };
    },
  );
};
