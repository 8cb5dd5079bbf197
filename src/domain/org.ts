import type { z } from 'zod';
import type { EventOf } from './events/index.ts';
import type { BillingStatus, MemberRole, orgSettingsPatch } from './events/org.ts';
import type { Envelope } from './envelope.ts';
import { NotFoundError, StateConflictError } from './errors.ts';
import type { BlackoutDate, BusinessHours, PlannedAction, QuietHours } from './values.ts';

/** Org stream name. */
export const orgStream = (orgId: string) => `org-${orgId}`;

/** Automation settings of an org. */
export interface OrgSettings {
  confirmations: boolean;
  reminderOffsetsMinutes: number[];
  textBack: boolean;
  textBackTemplate: string;
  /** The line the first automated text to a number ends with. */
  optOutLine: string;
  /** The sender's A2P 10DLC campaign id (null: none registered yet). */
  a2pCampaignId: string | null;
  quietHours: QuietHours | null;
  businessHours: BusinessHours;
  crewCapacity: number;
  blackoutDates: BlackoutDate[];
  enabledActions: PlannedAction[];
  /** Minutes of business time to the team's first response on a new lead. */
  responseTargetMinutes: number;
  /** Staff phones texted about new missed calls and texts (E.164). */
  onCallPhones: string[];
  /** `round_robin`: a new lead goes to the next member (owner, admin, member) in a stable rotation. */
  autoAssign: 'none' | 'round_robin';
  /** Minutes after a text-back or a team answer in which a caller is not texted back again (0: every missed call is). */
  textBackCooldownMinutes: number;
}

/** Settings of a new org. */
export const DEFAULT_SETTINGS: OrgSettings = Object.freeze({
  confirmations: true,
  reminderOffsetsMinutes: [1440, 120],
  textBack: true,
  textBackTemplate: "Sorry we missed your call! This is {{business}}. How can we help? Reply here and we'll get right back to you.",
  optOutLine: 'Reply STOP to opt out.',
  a2pCampaignId: null,
  quietHours: null,
  businessHours: {
    mon: [{ start: '08:00', end: '17:00' }],
    tue: [{ start: '08:00', end: '17:00' }],
    wed: [{ start: '08:00', end: '17:00' }],
    thu: [{ start: '08:00', end: '17:00' }],
    fri: [{ start: '08:00', end: '17:00' }],
  },
  crewCapacity: 2,
  blackoutDates: [],
  enabledActions: [],
  responseTargetMinutes: 5,
  onCallPhones: [],
  autoAssign: 'none',
  textBackCooldownMinutes: 60,
});

/** Settings with defaults for anything an older state did not record. */
export function settingsOf(org: Pick<Org, 'settings'>): OrgSettings {
  return { ...DEFAULT_SETTINGS, ...org.settings };
}

/** An organization: a business using CallSnare. */
export interface Org {
  id: string;
  name: string;
  timezone: string;
  phones: string[];
  settings: OrgSettings;
  billingStatus: BillingStatus;
  stripeCustomerId?: string;
  members: { memberId: string; email: string; role: MemberRole }[];
  createdAt: string;
  version: number;
}

export type OrgState = Org | null;

export type OrgEvent = EventOf<
  | 'OrgCreated'
  | 'OrgPhoneAdded'
  | 'OrgPhoneRemoved'
  | 'OrgSettingsChanged'
  | 'OrgStripeCustomerLinked'
  | 'OrgBillingStatusChanged'
  | 'MemberAdded'
  | 'MemberRoleChanged'
  | 'WebhookEndpointAdded'
  | 'WebhookEndpointRemoved'
  | 'WebhookEndpointDisabled'
  | 'WebhookSecretRotated'
  | 'MemberRemoved'
>;

export type OrgCommand =
  | { type: 'CreateOrg'; now: string; data: { orgId: string; name: string; timezone: string; phones: string[] } }
  | {
      type: 'ConfigureOrg';
      now: string;
      /** `movedFrom`: phone → the org it is being moved away from. */
      data: { orgId: string; changes: z.output<typeof orgSettingsPatch>; addPhones?: string[]; movedFrom?: Record<string, string> };
    }
  | { type: 'ReleasePhone'; now: string; data: { orgId: string; phone: string; movedTo: string } }
  | { type: 'LinkStripeCustomer'; now: string; data: { orgId: string; stripeCustomerId: string } }
  | {
      type: 'ChangeBillingStatus';
      now: string;
      data: { orgId: string; status: BillingStatus; stripeEventId: string; stripeCustomerId?: string };
    }
  | { type: 'AddMember'; now: string; data: { orgId: string; memberId: string; email: string; role: MemberRole } }
  /** `byRole`: the role of whoever asks (only an owner makes or unmakes owners). */
  | { type: 'ChangeMemberRole'; now: string; data: { orgId: string; memberId: string; role: MemberRole; byRole: MemberRole | 'operator' } }
  /** `byRole`: only an owner (or the operator) removes an owner; the last owner stays. */
  | { type: 'RemoveMember'; now: string; data: { orgId: string; memberId: string; byRole: MemberRole | 'operator' } };

export function decide(command: OrgCommand, state: OrgState): OrgEvent[] {
  if (command.type === 'CreateOrg') {
    if (state) throw new StateConflictError('org_exists', 'the org already exists');
    return [{ type: 'OrgCreated', data: { ...command.data, phones: [...new Set(command.data.phones)] } }];
  }
  if (!state) throw new NotFoundError('org not found');
  switch (command.type) {
    case 'ConfigureOrg': {
      const { orgId, changes, addPhones = [], movedFrom = {} } = command.data;
      const events: OrgEvent[] = [...new Set(addPhones)]
        .filter((phone) => !state.phones.includes(phone))
        .map((phone) => ({
          type: 'OrgPhoneAdded' as const,
          data: { orgId, phone, ...(movedFrom[phone] && { movedFrom: movedFrom[phone] }) },
        }));
      const effective = Object.fromEntries(
        Object.entries(changes).filter(([key, value]) => {
          // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JSON may carry an explicit undefined-equivalent the type omits
          if (value === undefined) return false;
          const current = key === 'timezone' ? state.timezone : state.settings[key as keyof OrgSettings];
          return JSON.stringify(current) !== JSON.stringify(value);
        }),
      );
      if (Object.keys(effective).length) events.push({ type: 'OrgSettingsChanged', data: { orgId, changes: effective } });
      return events;
    }
    case 'ReleasePhone':
      if (!state.phones.includes(command.data.phone)) return [];
      return [{ type: 'OrgPhoneRemoved', data: command.data }];
    case 'LinkStripeCustomer':
      if (state.stripeCustomerId === command.data.stripeCustomerId) return [];
      return [{ type: 'OrgStripeCustomerLinked', data: command.data }];
    case 'ChangeBillingStatus': {
      if (state.billingStatus === command.data.status) return [];
      const { orgId, status, stripeEventId, stripeCustomerId } = command.data;
      return [
        {
          type: 'OrgBillingStatusChanged',
          data: { orgId, status, previousStatus: state.billingStatus, stripeEventId, ...(stripeCustomerId && { stripeCustomerId }) },
        },
      ];
    }
    case 'AddMember':
      if (state.members.some((m) => m.email.toLowerCase() === command.data.email.toLowerCase())) {
        throw new StateConflictError('member_exists', `${command.data.email} is already a member`);
      }
      return [{ type: 'MemberAdded', data: command.data }];
    case 'ChangeMemberRole': {
      const { orgId, memberId, role, byRole } = command.data;
      const member = state.members.find((m) => m.memberId === memberId);
      if (!member) throw new NotFoundError('member not found');
      if (member.role === role) return [];
      if ((member.role === 'owner' || role === 'owner') && byRole !== 'owner' && byRole !== 'operator') {
        throw new StateConflictError('owner_only', "only an owner makes a member owner or changes an owner's role");
      }
      if (member.role === 'owner' && !state.members.some((m) => m.role === 'owner' && m.memberId !== memberId)) {
        throw new StateConflictError('last_owner', 'the org needs an owner: make another member owner first');
      }
      return [{ type: 'MemberRoleChanged', data: { orgId, memberId, from: member.role, to: role } }];
    }
    case 'RemoveMember': {
      const { orgId, memberId, byRole } = command.data;
      const member = state.members.find((m) => m.memberId === memberId);
      if (!member) throw new NotFoundError('member not found');
      if (member.role === 'owner' && byRole !== 'owner' && byRole !== 'operator') {
        throw new StateConflictError('owner_only', 'only an owner removes an owner');
      }
      if (member.role === 'owner' && !state.members.some((m) => m.role === 'owner' && m.memberId !== memberId)) {
        throw new StateConflictError('last_owner', 'the org needs an owner: make another member owner first');
      }
      return [{ type: 'MemberRemoved', data: { orgId, memberId, email: member.email, role: member.role } }];
    }
    default: {
      const unknown: never = command;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

export function evolve(state: OrgState, event: Envelope<OrgEvent>): OrgState {
  if (event.type === 'OrgCreated') {
    const { orgId, ...rest } = event.data;
    return {
      id: orgId,
      ...rest,
      settings: { ...DEFAULT_SETTINGS },
      billingStatus: 'active',
      members: [],
      createdAt: event.occurredAt,
      version: 1,
    };
  }
  if (!state) return state;
  const next = { ...state, version: state.version + 1 };
  switch (event.type) {
    case 'OrgPhoneAdded':
      return { ...next, phones: [...state.phones, event.data.phone] };
    case 'OrgPhoneRemoved':
      return { ...next, phones: state.phones.filter((phone) => phone !== event.data.phone) };
    case 'OrgSettingsChanged': {
      const { timezone, ...settings } = event.data.changes;
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- older events may carry keys the type omits
      const defined = Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined));
      return { ...next, ...(timezone && { timezone }), settings: { ...state.settings, ...defined } };
    }
    case 'OrgStripeCustomerLinked':
      return { ...next, stripeCustomerId: event.data.stripeCustomerId };
    case 'OrgBillingStatusChanged':
      return {
        ...next,
        billingStatus: event.data.status,
        ...(event.data.stripeCustomerId && { stripeCustomerId: event.data.stripeCustomerId }),
      };
    case 'MemberAdded':
      return { ...next, members: [...state.members, { memberId: event.data.memberId, email: event.data.email, role: event.data.role }] };
    case 'MemberRoleChanged':
      return { ...next, members: state.members.map((m) => (m.memberId === event.data.memberId ? { ...m, role: event.data.to } : m)) };
    // Webhook endpoints are decided on by `domain/webhook-endpoints.ts`; the org itself does not change.
    case 'WebhookEndpointAdded':
    case 'WebhookEndpointRemoved':
    case 'WebhookEndpointDisabled':
    case 'WebhookSecretRotated':
      return next;
    case 'MemberRemoved':
      return { ...next, members: state.members.filter((m) => m.memberId !== event.data.memberId) };
    default: {
      const unknown: never = event;
      throw new Error(`unknown event ${JSON.stringify(unknown)}`);
    }
  }
}

export function foldOrg(events: readonly Envelope<OrgEvent>[]): OrgState {
  return events.reduce<OrgState>(evolve, null);
}

/** Automation pauses while billing is in one of these states. */
export const BILLING_INACTIVE: readonly BillingStatus[] = ['canceled', 'unpaid', 'incomplete_expired', 'paused'];
