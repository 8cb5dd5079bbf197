import { randomUUID } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import type { Services } from '../services.ts';
import { discoveryRoutes } from './discovery/routes.ts';
import { routeRegistryPlugin } from './discovery/registry.ts';
import { mcpRoutes } from './mcp/route.ts';
import { securityHeaders } from './common/security-headers.ts';
import { errorsPlugin, sendProblem, toProblem } from './plugins/errors.ts';
import { idempotencyPlugin } from './plugins/idempotency.ts';
import { metricsPlugin } from './plugins/metrics.ts';
import { requestContextPlugin } from './plugins/request-context.ts';
import type { RateLimitOptions } from './plugins/rate-limit.ts';
import { privateApiV1 } from './api/private/v1/index.ts';
import { internalApiV1 } from './api/internal/v1/index.ts';
import { serializerCompiler } from './common/serialization.ts';
import { validatorCompiler } from './common/validation.ts';
import { webhooks } from './webhooks/index.ts';
import { liveEventsRoute, webApp } from './app/index.ts';

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
  }
}

/** Options of {@link buildServer}. */
export interface ServerOptions {
  /** Per credential on the protected API. */
  readonly rateLimit?: RateLimitOptions;
  /** Per member on the internal API and the web app's session routes. */
  readonly memberRateLimit?: RateLimitOptions;
}

const BODY_LIMIT = 64 * 1024;

/**
 * Logs each request once, when it completes (method, URL, status, time and, once authenticated, org
 * and actor), instead of fastify's two lines (incoming, completed): half the logging cost of every request.
 */
class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

/** The HTTP app: every route group, plugin and the problem+json error handler. Not yet listening. */
export async function buildServer(services: Services, options: ServerOptions = {}): Promise<FastifyInstance> {
  const trust = services.config.TRUST_PROXY;
  const app = Fastify({
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- without it fastify infers pino's Logger and the instance type no longer matches FastifyInstance.
    loggerInstance: services.log as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    // Off unless TRUST_PROXY says which proxies to believe: otherwise anyone could pick their own address.
    ...(trust !== undefined && { trustProxy: typeof trust === 'number' ? (_address: string, hop: number) => hop < trust : trust }),
    // Node leaves these at 0 under fastify: a slow or idle client would hold a socket forever. The request
    // (headers and body) must arrive within 30 s; a socket silent for 2 minutes closes (live feeds send a
    // heartbeat every 15 s, so they stay open).
    requestTimeout: 30_000,
    connectionTimeout: 120_000,
    keepAliveTimeout: 10_000,
    genReqId: () => randomUUID(),
    logController: new OneLinePerRequest(),
    // A URL that does not decode is refused before routing: still a problem document like every other error.
    frameworkErrors: (error, request, reply) => {
      void sendProblem(request, reply.header('request-id', request.id).header('cache-control', 'no-store'), toProblem(error));
    },
  });
  app.decorate('services', services);
  // On every response: no MIME sniffing, a CSP (the page's own, else one that allows nothing), and over
  // https HSTS. The live feed's hijacked stream writes the same headers itself.
  const protections = securityHeaders(services.config.PUBLIC_BASE_URL?.startsWith('https:') ?? false);
  app.addHook('onSend', async (_request, reply) => {
    for (const [name, value] of Object.entries(protections)) if (!reply.hasHeader(name)) reply.header(name, value);
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(routeRegistryPlugin);
  await app.register(requestContextPlugin);
  await app.register(errorsPlugin);
  await app.register(idempotencyPlugin);
  await app.register(metricsPlugin);
  await app.register(fastifyCookie);
  const rateLimit = options.rateLimit ?? { max: services.config.RATE_LIMIT_PER_MINUTE, timeWindowMs: 60_000 };
  await app.register(privateApiV1, { prefix: '/api/private/v1', rateLimit });
  const memberRateLimit = options.memberRateLimit ?? { max: services.config.RATE_LIMIT_PER_MINUTE, timeWindowMs: 60_000 };
  await app.register(internalApiV1, { prefix: '/api/internal/v1', rateLimit: memberRateLimit });
  await app.register(webhooks, { prefix: '/webhooks' });
  await app.register(discoveryRoutes);
  await app.register(mcpRoutes, { rateLimit });
  await app.register(webApp, { rateLimit: memberRateLimit });
  await app.register(liveEventsRoute);
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  return app;
}
