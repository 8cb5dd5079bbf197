import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { type ActionName, actionNamed } from './catalog.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The catalog action (or actions, when one route serves several) this route serves: a name of src/http/discovery/catalog.ts. */
    action?: ActionName | readonly ActionName[];
  }
  interface FastifyInstance {
    /** Every route registered so far, with the catalog actions it serves. */
    routeRegistry: RegisteredRoute[];
  }
}

/** A registered route as the catalog sees it. */
export interface RegisteredRoute {
  readonly method: string;
  readonly url: string;
  readonly actions: readonly ActionName[];
}

/**
 * Records every route as it is registered with the catalog actions it names; a name the catalog does not
 * know stops the server at start. The tests compare this registry with the catalog both ways.
 */
export const routeRegistryPlugin = fp(async (app: FastifyInstance) => {
  const registry: RegisteredRoute[] = [];
  app.decorate('routeRegistry', registry);
  app.addHook('onRoute', (route) => {
    const methods = [route.method].flat().filter((m) => m !== 'HEAD');
    const action = route.config?.action;
    const actions: readonly ActionName[] = action === undefined ? [] : typeof action === 'string' ? [action] : action;
    for (const name of actions) actionNamed(name);
    for (const method of methods) registry.push({ method, url: route.url, actions });
  });
});
