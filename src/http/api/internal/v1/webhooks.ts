import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  type WebhookEndpointDeps,
  addWebhookEndpoint,
  removeWebhookEndpoint,
  replayDeliveries,
  rotateWebhookSecret,
} from '../../../../commands/webhook-endpoints.ts';
import { WebhookUrlError } from '../../../../commands/webhook-url.ts';
import { listWebhookDeliveries, listWebhookEndpoints } from '../../../../queries/webhooks.ts';
import type { FastifyRequest } from 'fastify';
import { callerOf, depsOf } from '../../../plugins/caller.ts';
import { authOf } from '../../../plugins/authentication.ts';
import { problems } from '../../../common/problem.ts';
import { ROLES, requireRole } from '../../../plugins/authorization.ts';
import { addWebhookEndpointBody, replayWebhookBody, webhookEndpointParams } from './schemas.ts';

function webhookDeps(request: FastifyRequest): WebhookEndpointDeps {
  const { db, config } = request.server.services;
  return { ...depsOf(request), db, allowPrivate: config.WEBHOOK_ALLOW_PRIVATE };
}

/** A refused URL is a 400 on the `url` field. */
const urlProblem = (error: unknown): never => {
  if (error instanceof WebhookUrlError) throw problems.validation([{ path: 'url', message: error.message }], error.message);
  throw error;
};

/**
 * Outbound webhook endpoints of the org (CONTRACT §9; owner, admin): register (the secret is shown once),
 * list with delivery health, remove, rotate the secret, read the delivery log, replay. Another org's
 * endpoint is 404 like an absent one.
 */
export const webhookRoutes: FastifyPluginAsyncZod = async (app) => {
  const allowed = requireRole(ROLES.settings);

  app.get('/webhook-endpoints', { preHandler: allowed }, async (request) => {
    return { data: await listWebhookEndpoints(request.server.services.db, authOf(request).orgId) };
  });

  app.post('/webhook-endpoints', { preHandler: allowed, schema: { body: addWebhookEndpointBody } }, async (request, reply) => {
    const created = await addWebhookEndpoint(webhookDeps(request), callerOf(request), request.body).catch(urlProblem);
    reply.header('cache-control', 'no-store');
    return reply
      .code(201)
      .send({ id: created.id, url: created.url, events: created.events, description: created.description, secret: created.secret });
  });

  app.delete(
    '/webhook-endpoints/:endpointId',
    { preHandler: allowed, schema: { params: webhookEndpointParams } },
    async (request, reply) => {
      await removeWebhookEndpoint(webhookDeps(request), callerOf(request), request.params.endpointId);
      return reply.code(204).send();
    },
  );

  app.post(
    '/webhook-endpoints/:endpointId/rotate-secret',
    { preHandler: allowed, schema: { params: webhookEndpointParams } },
    async (request, reply) => {
      const rotated = await rotateWebhookSecret(webhookDeps(request), callerOf(request), request.params.endpointId);
      reply.header('cache-control', 'no-store');
      return rotated;
    },
  );

  app.get(
    '/webhook-endpoints/:endpointId/deliveries',
    { preHandler: allowed, schema: { params: webhookEndpointParams } },
    async (request) => {
      const deliveries = await listWebhookDeliveries(request.server.services.db, authOf(request).orgId, request.params.endpointId);
      if (!deliveries) throw problems.notFound('webhook endpoint');
      return { data: deliveries };
    },
  );

  app.post(
    '/webhook-endpoints/:endpointId/replay',
    { preHandler: allowed, schema: { params: webhookEndpointParams, body: replayWebhookBody } },
    async (request, reply) => {
      const body = request.body;
      const replayed = await replayDeliveries(
        request.server.services.db,
        authOf(request).orgId,
        request.params.endpointId,
        'deliveryId' in body ? { deliveryId: body.deliveryId } : { since: new Date(body.since) },
      );
      return reply.code(202).send({ replayed });
    },
  );
};
