import type { Projection } from './projection.ts';
import { bookingsProjection } from './read-models/bookings.ts';
import { credentialsProjection } from './read-models/credentials.ts';
import { orgsProjection } from './read-models/orgs.ts';

/** Every projection the service runs, by name. */
export const PROJECTIONS: readonly Projection[] = [orgsProjection, credentialsProjection, bookingsProjection];

export function projectionByName(name: string): Projection | undefined {
  return PROJECTIONS.find((p) => p.name === name);
}
