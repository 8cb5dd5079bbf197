import type { FastifyRequest } from 'fastify';
import { settingsOf, type Org } from '../../domain/org.ts';
import type { PlannedAction } from '../../domain/values.ts';
import { getOrg } from '../../queries/orgs.ts';
import { authOf } from './authentication.ts';
import { ProblemError } from '../common/problem.ts';
import { howToEnable } from '../discovery/catalog.ts';

/** The caller's org if it has the planned action switched on; otherwise 404 `action_not_enabled`. */
export async function requireEnabled(request: FastifyRequest, action: PlannedAction): Promise<Org> {
  const org = await getOrg(request.server.services.db, authOf(request).orgId);
  if (!org || !settingsOf(org).enabledActions.includes(action)) {
    throw new ProblemError(
      404,
      'action_not_enabled',
      'Action not enabled',
      `${action} is a planned action not enabled for this org; ${howToEnable(action)}`,
    );
  }
  return org;
}
