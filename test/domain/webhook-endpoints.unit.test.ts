import t from 'tap';
import type { Envelope } from '../../src/domain/envelope.ts';
import { NotFoundError } from '../../src/domain/errors.ts';
import type { OrgEvent } from '../../src/domain/org.ts';
import { type WebhookEndpointCommand, type WebhookEndpointsState, decide, evolve } from '../../src/domain/webhook-endpoints.ts';
import { specFor } from '../support/gwt.ts';

const now = '2026-12-01T12:00:00.000Z';
const at = (event: OrgEvent): Envelope<OrgEvent> => ({ ...event, occurredAt: now });
const orgId = '9a8b7c6d-5e4f-4321-9876-543210fedcba';
const endpointId = '3f1e2d4c-5b6a-4789-8abc-def012345678';
const fingerprint = 'sha256:0123456789abcdef';

const spec = specFor<WebhookEndpointsState, WebhookEndpointCommand, Envelope<OrgEvent>>({
  decide: (command, state) => decide(command, state).map(at),
  evolve,
  initial: null,
});

const orgCreated = at({ type: 'OrgCreated', data: { orgId, name: 'Acme HVAC', timezone: 'America/Chicago', phones: [] } });
const added = at({
  type: 'WebhookEndpointAdded',
  data: { orgId, endpointId, url: 'https://crm.example.com/hook', events: ['booking.created'], secretFingerprint: fingerprint },
});
const removed = at({ type: 'WebhookEndpointRemoved', data: { orgId, endpointId } });
const add: WebhookEndpointCommand = {
  type: 'AddWebhookEndpoint',
  now,
  data: added.data as Extract<WebhookEndpointCommand, { type: 'AddWebhookEndpoint' }>['data'],
};

t.test('adding an endpoint records it once; adding the same id again records nothing', async (t) => {
  spec(t).given([orgCreated]).when(add).then([added]);
  spec(t).given([orgCreated, added]).when(add).then([]);
  spec(t)
    .given([])
    .when(add)
    .thenThrows(NotFoundError, /org not found/);
});

t.test('a rotation keeps the previous secret valid for 24 hours; a removed endpoint cannot be rotated', async (t) => {
  spec(t)
    .given([orgCreated, added])
    .when({ type: 'RotateWebhookSecret', now, data: { orgId, endpointId, secretFingerprint: 'sha256:fedcba9876543210' } })
    .then([
      at({
        type: 'WebhookSecretRotated',
        data: { orgId, endpointId, secretFingerprint: 'sha256:fedcba9876543210', previousValidUntil: '2026-12-02T12:00:00.000Z' },
      }),
    ]);
  spec(t)
    .given([orgCreated, added, removed])
    .when({ type: 'RotateWebhookSecret', now, data: { orgId, endpointId, secretFingerprint: fingerprint } })
    .thenThrows(NotFoundError);
});

t.test('removing an absent or removed endpoint is not found; disabling twice records once', async (t) => {
  spec(t).given([orgCreated]).when({ type: 'RemoveWebhookEndpoint', now, data: { orgId, endpointId } }).thenThrows(NotFoundError);
  spec(t).given([orgCreated, added]).when({ type: 'RemoveWebhookEndpoint', now, data: { orgId, endpointId } }).then([removed]);
  spec(t)
    .given([orgCreated, added, removed])
    .when({ type: 'RemoveWebhookEndpoint', now, data: { orgId, endpointId } })
    .thenThrows(NotFoundError);
  const disable: WebhookEndpointCommand = {
    type: 'DisableWebhookEndpoint',
    now,
    data: { orgId, endpointId, reason: 'failing for 5 days' },
  };
  spec(t)
    .given([orgCreated, added])
    .when(disable)
    .then([at({ type: 'WebhookEndpointDisabled', data: disable.data as { orgId: string; endpointId: string; reason: string } })]);
  spec(t)
    .given([orgCreated, added, at({ type: 'WebhookEndpointDisabled', data: { orgId, endpointId, reason: 'x' } })])
    .when(disable)
    .then([]);
});
