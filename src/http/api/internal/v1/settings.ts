import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { configureOrg } from '../../../../commands/orgs.ts';
import { getSettings, toSettingsView } from '../../../../queries/settings.ts';
import { callerOf, depsOf } from '../../../plugins/caller.ts';
import { awaitConsistency, readsOf, setConsistencyToken } from '../../../common/consistency.ts';
import { authOf } from '../../../plugins/authentication.ts';
import { ProblemError, problems } from '../../../common/problem.ts';
import { ROLES, requireRole } from '../../../plugins/authorization.ts';
import { settingsBody } from './schemas.ts';

/** Org automation settings (owner, admin); a change is recorded as OrgSettingsChanged. */
export const settingsRoutes: FastifyPluginAsyncZod = async (app) => {
  const allowed = requireRole(ROLES.settings);

  app.get('/settings', { preHandler: allowed }, async (request) => {
    await awaitConsistency(request, ['orgs']);
    const settings = await getSettings(readsOf(request).db, authOf(request).orgId);
    if (!settings) throw problems.notFound('org');
    return settings;
  });

  app.put(
    '/settings',
    {
      // Before the body is validated (and before anything is recorded): planned actions are an operator's switch.
      preValidation: [
        allowed,
        async (request) => {
          const body = request.body as Record<string, unknown> | null;
          if (body && typeof body === 'object' && Object.hasOwn(body, 'enabledActions')) {
            throw new ProblemError(
              403,
              'operator_only',
              'Forbidden',
              `planned actions are switched on by an operator, not from the app: npx callsnare org configure --org ${authOf(request).orgId} --enable-action <action>`,
            );
          }
        },
      ],
      schema: { body: settingsBody },
    },
    async (request, reply) => {
      const orgId = authOf(request).orgId;
      const { org, position } = await configureOrg(depsOf(request), callerOf(request), { orgId, changes: request.body });
      setConsistencyToken(reply, position);
      return toSettingsView(org);
    },
  );
};
