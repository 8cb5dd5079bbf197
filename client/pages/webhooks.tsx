import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api } from '../api.ts';
import { when } from '../format.ts';
import type { Me, WebhookEventType } from '../types.ts';
import { ErrorText } from '../error-text.tsx';

/** An endpoint as `GET /webhook-endpoints` lists it (never its secret). */
interface WebhookEndpoint {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  status: 'active' | 'disabled';
  disabledAt: string | null;
  health: { lastStatus: number | null; failuresInARow: number; nextRetryAt: string | null; pending: number };
}

// Every webhook event type, in the order the form lists them; checked against the server's type-only, so a
// type added there fails this client's type check until it is listed here.
const EVENT_NAMES: Record<WebhookEventType, true> = {
  'booking.created': true,
  'booking.rescheduled': true,
  'booking.canceled': true,
  'booking.confirmation_sent': true,
  'booking.reminder_sent': true,
  'lead.created': true,
  'lead.status_changed': true,
  'lead.opted_out': true,
};
const EVENT_TYPES = Object.keys(EVENT_NAMES) as WebhookEventType[];

/**
 * Outbound webhooks in settings (owner, admin): endpoints with delivery health, add (secret shown once),
 * rotate the secret (the new one shown once; the previous one keeps signing for 24 hours), remove.
 */
export function Webhooks({ me }: { me: Me }) {
  const queryClient = useQueryClient();
  const endpoints = useQuery({ queryKey: ['webhook-endpoints'], queryFn: () => api<{ data: WebhookEndpoint[] }>('/webhook-endpoints') });
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<string[]>(['booking.created']);
  const [secret, setSecret] = useState<{ secret: string; url: string; rotated?: boolean } | null>(null);
  useEffect(() => () => setSecret(null), []);
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ['webhook-endpoints'] });
  const add = useMutation({
    mutationFn: () => api<{ id: string; url: string; secret: string }>('/webhook-endpoints', { method: 'POST', body: { url, events } }),
    onSuccess: (created) => {
      setSecret({ secret: created.secret, url: created.url });
      setUrl('');
      refresh();
    },
  });
  const rotate = useMutation({
    mutationFn: (endpoint: WebhookEndpoint) =>
      api<{ secret: string }>(`/webhook-endpoints/${endpoint.id}/rotate-secret`, { method: 'POST' }).then((r) => ({
        ...r,
        url: endpoint.url,
      })),
    onSuccess: (rotated) => setSecret({ secret: rotated.secret, url: rotated.url, rotated: true }),
  });
  const remove = useMutation({
    mutationFn: (id: string) => api(`/webhook-endpoints/${id}`, { method: 'DELETE' }),
    onSettled: refresh,
  });
  const toggle = (type: string) => setEvents(events.includes(type) ? events.filter((e) => e !== type) : [...events, type]);
  const disabled = endpoints.data?.data.filter((e) => e.status === 'disabled') ?? [];
  return (
    <section className="card" aria-labelledby="webhooks-title">
      <h2 id="webhooks-title">Webhooks</h2>
      {disabled.map((e) => (
        <p key={e.id} className="error" role="alert" data-testid="webhook-disabled-banner">
          Deliveries to {e.url} failed for 5 days, so it was disabled{e.disabledAt ? ` ${when(e.disabledAt, me.timezone)}` : ''}. Fix the
          receiver, then remove it and add it again.
        </p>
      ))}
      <ErrorText error={endpoints.error} />
      <table className="table">
        <caption className="sr-only">Webhook endpoints</caption>
        <thead>
          <tr>
            <th scope="col">URL</th>
            <th scope="col">Events</th>
            <th scope="col">Last status</th>
            <th scope="col">Failures in a row</th>
            <th scope="col">Next retry</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {endpoints.data?.data.map((e) => (
            <tr key={e.id} data-testid="webhook-endpoint">
              <td>{e.url}</td>
              <td>{e.events.join(', ')}</td>
              <td>{e.health.lastStatus ?? '—'}</td>
              <td>{e.health.failuresInARow}</td>
              <td>{e.health.nextRetryAt ? when(e.health.nextRetryAt, me.timezone) : '—'}</td>
              <td>
                {e.status}{' '}
                {e.status === 'active' && (
                  <button
                    type="button"
                    className="small"
                    onClick={() => rotate.mutate(e)}
                    disabled={rotate.isPending}
                    aria-label={`Rotate secret of ${e.url}`}
                  >
                    Rotate secret
                  </button>
                )}{' '}
                <button type="button" className="danger small" onClick={() => remove.mutate(e.id)} aria-label={`Remove ${e.url}`}>
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <ErrorText error={rotate.error} />
      <form onSubmit={(e) => (e.preventDefault(), add.mutate())} aria-labelledby="webhook-form-title">
        <h3 id="webhook-form-title">New endpoint</h3>
        <label htmlFor="webhook-url">URL (https://…)</label>
        <input id="webhook-url" type="url" required maxLength={2000} value={url} onChange={(e) => setUrl(e.target.value)} />
        <fieldset>
          <legend>Events</legend>
          {EVENT_TYPES.map((type) => (
            <div className="check" key={type}>
              <input id={`event-${type}`} type="checkbox" checked={events.includes(type)} onChange={() => toggle(type)} />
              <label htmlFor={`event-${type}`}>{type}</label>
            </div>
          ))}
        </fieldset>
        <ErrorText error={add.error} />
        {secret && (
          <p role="status" className="secret">
            {secret.rotated ? 'New signing secret' : 'Signing secret'} for {secret.url}, shown once — copy it now:{' '}
            <code data-testid="webhook-secret">{secret.secret}</code>
            {secret.rotated && ' The previous secret keeps signing beside it for 24 hours.'}
          </p>
        )}
        <button type="submit" disabled={add.isPending || !events.length}>
          Add endpoint
        </button>
      </form>
    </section>
  );
}
