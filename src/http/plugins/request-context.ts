import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** Every response carries `Request-Id` and `Cache-Control: no-store`. */
export const requestContextPlugin = fp(async (app: FastifyInstance) => {
  app.addHook('onRequest', async (request, reply) => {
    reply.header('request-id', request.id);
    reply.header('cache-control', 'no-store');
  });
});
