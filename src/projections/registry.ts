import type { Projection } from './projection.ts';
import { bookingsProjection } from './read-models/bookings.ts';
import { contactConsentProjection } from './read-models/contact-consent.ts';
import { credentialsProjection } from './read-models/credentials.ts';
import { leadTimelineProjection } from './read-models/lead-timeline.ts';
import { leadsProjection } from './read-models/leads.ts';
import { orgsProjection } from './read-models/orgs.ts';

/** Every projection the service runs, by name. */
export const PROJECTIONS: readonly Projection[] = [
  orgsProjection,
  credentialsProjection,
  bookingsProjection,
  leadsProjection,
  leadTimelineProjection,
  contactConsentProjection,
];

export function projectionByName(name: string): Projection | undefined {
  return PROJECTIONS.find((p) => p.name === name);
}
