import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { howToEnable } from './planned-actions.ts';
import type { PlannedAction } from '../domain/values.ts';

/** What a route does, as the public action catalog describes it (CONTRACT §6). */
export interface ActionMeta {
  readonly name: string;
  readonly status: 'live_protected' | 'live_internal' | 'planned';
  /** Scopes (protected, planned) or roles (internal) that may call it. */
  readonly permissions: readonly string[];
  /** `safe` (read), `idempotency_key` (honours Idempotency-Key), `idempotent` (repeatable as is), `none` (a repeat acts again, e.g. mints another secret). */
  readonly idempotency: 'safe' | 'idempotency_key' | 'idempotent' | 'none';
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The catalog entry (or entries, when one route serves several actions) of this route. */
    action?: ActionMeta | readonly ActionMeta[];
  }
  interface FastifyInstance {
    /** Every route registered so far, with its catalog entries: the catalog's single source. */
    routeRegistry: RegisteredRoute[];
  }
}

/** A registered route as the catalog sees it. */
export interface RegisteredRoute {
  readonly method: string;
  readonly url: string;
  readonly actions: readonly ActionMeta[];
}

/** One entry of `GET /api/actions`. */
export interface CatalogEntry extends ActionMeta {
  readonly surface: string;
  readonly routes: string[];
  readonly enable?: string;
}

/** Records every route as it is registered, so the catalog is generated from what the server serves. */
export const routeRegistryPlugin = fp(async (app: FastifyInstance) => {
  const registry: RegisteredRoute[] = [];
  app.decorate('routeRegistry', registry);
  app.addHook('onRoute', (route) => {
    const methods = [route.method].flat().filter((m) => m !== 'HEAD');
    const action = route.config?.action;
    const actions = action === undefined ? [] : Array.isArray(action) ? (action as readonly ActionMeta[]) : [action as ActionMeta];
    for (const method of methods) registry.push({ method, url: route.url, actions });
  });
});

/** Builds the catalog from the registry: one entry per action, with the routes that serve it. */
export function actionCatalog(registry: readonly RegisteredRoute[]): CatalogEntry[] {
  const byName = new Map<string, CatalogEntry>();
  for (const route of registry) {
    for (const action of route.actions) {
      const path = `${route.method} ${route.url}`;
      const existing = byName.get(action.name);
      if (existing) {
        existing.routes.push(path);
        continue;
      }
      byName.set(action.name, {
        ...action,
        surface: action.status === 'live_internal' ? 'internal' : path,
        routes: [path],
        ...(action.status === 'planned' && { enable: howToEnable(action.name as PlannedAction) }),
      });
    }
  }
  const order = { live_protected: 0, live_internal: 1, planned: 2 };
  return [...byName.values()].sort((a, b) => order[a.status] - order[b.status]);
}

/** `GET /api/actions` (no auth): the action model as data. */
export const actionsRoute = async (app: FastifyInstance) => {
  app.get('/api/actions', { schema: { hide: true } }, async () => ({ data: actionCatalog(app.routeRegistry) }));
};
