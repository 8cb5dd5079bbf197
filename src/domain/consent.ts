import type { Envelope } from './envelope.ts';
import { DomainRuleError } from './errors.ts';
import type { ConsentEvidence, ConsentSource } from './events/consent.ts';
import type { EventOf } from './events/index.ts';

/** Consent stream name: one per (org, phone), its id from `consentIdFor` (domain/ids.ts). */
export const consentStream = (consentId: string) => `consent-${consentId}`;

/** Where a contact's consent stands (`unknown`: never said; texting only in answer to their own contact). */
export type ConsentStatus = 'unknown' | 'opted_out' | 'opted_in';

/** A contact's consent: the status, since when and how it got there. */
export interface Consent {
  status: Exclude<ConsentStatus, 'unknown'>;
  since: string;
  source: ConsentSource;
  evidence: ConsentEvidence;
}

export type ConsentState = Consent | null;
export type ConsentEvent = EventOf<'ContactOptedOut' | 'ContactOptedIn'>;

/** Record an opt-out or an opt-in. A member may record an opt-out only (CONTRACT §8). */
export interface ChangeConsent {
  type: 'OptOut' | 'OptIn';
  now: string;
  data: { orgId: string; phone: string; source: ConsentSource; evidence: ConsentEvidence };
}
export type ConsentCommand = ChangeConsent;

/** The consent as an API shows it: `unknown` before any event. */
export function consentView(state: ConsentState): { status: ConsentStatus; since: string | null; source: ConsentSource | null } {
  return state ? { status: state.status, since: state.since, source: state.source } : { status: 'unknown', since: null, source: null };
}

/**
 * Decides a consent change. Opting out again while opted out records nothing (the first revocation is the
 * evidence that counts); so does opting in while opted in. A member never opts a contact in.
 */
export function decide(command: ConsentCommand, state: ConsentState): ConsentEvent[] {
  switch (command.type) {
    case 'OptOut':
      if (state?.status === 'opted_out') return [];
      return [{ type: 'ContactOptedOut', data: command.data }];
    case 'OptIn':
      if (command.data.source === 'member') throw new DomainRuleError('status', 'a member may record an opt-out, never an opt-in');
      if (state?.status === 'opted_in') return [];
      return [{ type: 'ContactOptedIn', data: command.data }];
    default: {
      const unknown: never = command.type;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

export function evolve(state: ConsentState, event: Envelope<ConsentEvent>): ConsentState {
  switch (event.type) {
    case 'ContactOptedOut':
      return { status: 'opted_out', since: event.occurredAt, source: event.data.source, evidence: event.data.evidence };
    case 'ContactOptedIn':
      return { status: 'opted_in', since: event.occurredAt, source: event.data.source, evidence: event.data.evidence };
    default: {
      const unknown: never = event;
      throw new Error(`unknown event ${JSON.stringify(unknown)}`);
    }
  }
}
