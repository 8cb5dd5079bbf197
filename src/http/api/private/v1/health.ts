import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { authOf } from '../../../plugins/authentication.ts';
import { healthResource } from './schemas.ts';

/** GET /health: which credential this is (any valid token). */
export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/health',
    {
      config: { action: 'health' },
      schema: {
        summary: 'Check a credential',
        operationId: 'health',
        response: { 200: healthResource },
      },
    },
    async (request) => {
      const auth = authOf(request);
      return {
        credential: { id: auth.credentialId, label: auth.label },
        actorType: 'integration' as const,
        scopes: [...auth.scopes],
        orgId: auth.orgId,
      };
    },
  );
};
