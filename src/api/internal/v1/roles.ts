import type { FastifyRequest } from 'fastify';
import type { MemberRole } from '../../../domain/events/org.ts';
import type { ActionMeta } from '../../actions.ts';
import { authOf } from '../../plugins/auth.ts';
import { ProblemError } from '../../problem.ts';

/** Who may do what on the internal API: owner > admin > member; auditor reads only the audit timeline. */
export const ROLES = {
  leads: ['owner', 'admin', 'member'],
  audit: ['owner', 'admin', 'auditor'],
  settings: ['owner', 'admin'],
} as const satisfies Record<string, readonly MemberRole[]>;

/** A preHandler admitting only member tokens of the given roles (403 `insufficient_role` otherwise). */
export function requireRole(allowed: readonly MemberRole[]) {
  return async (request: FastifyRequest) => {
    const role = authOf(request).role;
    if (!role || !(allowed as readonly string[]).includes(role)) {
      throw new ProblemError(
        403,
        'insufficient_role',
        'Forbidden',
        `this action needs the role ${allowed.join(', ')}; this token's role is ${role ?? 'none'}`,
      );
    }
  };
}

/** Catalog entries of the internal API (CONTRACT §6 counts the live internal actions). */
export const ACTIONS = {
  readLeads: { name: 'read_leads', status: 'live_internal', permissions: ROLES.leads, idempotency: 'safe' },
  markLeadRead: { name: 'mark_lead_read', status: 'live_internal', permissions: ROLES.leads, idempotency: 'idempotent' },
  replyByText: { name: 'reply_by_text', status: 'live_internal', permissions: ROLES.leads, idempotency: 'idempotency_key' },
  logCallBack: { name: 'log_call_back', status: 'live_internal', permissions: ROLES.leads, idempotency: 'none' },
  assignLead: { name: 'assign_lead', status: 'live_internal', permissions: ROLES.leads, idempotency: 'idempotent' },
  moveLeadStatus: { name: 'move_lead_status', status: 'live_internal', permissions: ROLES.leads, idempotency: 'idempotent' },
  recordOptOut: { name: 'record_opt_out', status: 'live_internal', permissions: ROLES.leads, idempotency: 'idempotent' },
  readBookings: { name: 'read_team_bookings', status: 'live_internal', permissions: ROLES.leads, idempotency: 'safe' },
  writeBookings: { name: 'write_team_bookings', status: 'live_internal', permissions: ROLES.leads, idempotency: 'idempotency_key' },
  readAuditEvents: { name: 'read_audit_events', status: 'live_internal', permissions: ROLES.audit, idempotency: 'safe' },
  manageMembers: { name: 'manage_members', status: 'live_internal', permissions: ROLES.settings, idempotency: 'idempotent' },
  inviteMember: { name: 'invite_member', status: 'live_internal', permissions: ROLES.settings, idempotency: 'none' },
  manageTokens: { name: 'manage_integration_tokens', status: 'live_internal', permissions: ROLES.settings, idempotency: 'idempotent' },
  issueToken: { name: 'issue_integration_token', status: 'live_internal', permissions: ROLES.settings, idempotency: 'none' },
  orgSettings: { name: 'org_settings', status: 'live_internal', permissions: ROLES.settings, idempotency: 'idempotent' },
} as const satisfies Record<string, ActionMeta>;
