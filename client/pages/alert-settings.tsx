import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { api } from '../api.ts';
import { ErrorText } from '../error-text.tsx';

/** The settings of the team's alerts and lead assignment (CONTRACT §10), as GET /settings shows them. */
export interface TeamSettings {
  onCallPhones?: string[];
  autoAssign?: 'none' | 'round_robin';
  [other: string]: unknown;
}

/**
 * Who hears of new calls and texts away from the app (on-call phones, one E.164 number a line) and who new
 * leads go to (nobody until someone takes them, or round-robin). Saved on its own: only these two settings.
 */
export function TeamAlertsForm({ settings }: { settings: TeamSettings }) {
  const queryClient = useQueryClient();
  const [phones, setPhones] = useState((settings.onCallPhones ?? []).join('\n'));
  const [autoAssign, setAutoAssign] = useState(settings.autoAssign ?? 'none');
  const save = useMutation({
    mutationFn: (body: unknown) => api('/settings', { method: 'PUT', body }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['settings'] }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const onCallPhones = phones
      .split(/[\n,]/)
      .map((line) => line.replace(/[\s().-]/g, ''))
      .filter(Boolean);
    save.mutate({ onCallPhones, autoAssign });
  };
  return (
    <form className="card settings-form" onSubmit={submit} aria-labelledby="team-alerts-title" data-testid="team-alerts">
      <h2 id="team-alerts-title">Alerts and assignment</h2>
      <label htmlFor="set-oncall">On-call phones (one per line, e.g. +15125550199)</label>
      <textarea id="set-oncall" rows={3} value={phones} onChange={(e) => setPhones(e.target.value)} aria-describedby="set-oncall-hint" />
      <p className="hint" id="set-oncall-hint">
        Each number gets a text with a link to the conversation when a call is missed or a text comes in, at most one per lead every 15
        minutes. A phone that replies STOP gets no more alerts.
      </p>
      <fieldset>
        <legend>New leads go to</legend>
        <div className="check">
          <input id="assign-none" type="radio" name="auto-assign" checked={autoAssign === 'none'} onChange={() => setAutoAssign('none')} />
          <label htmlFor="assign-none">Nobody until someone takes them (or replies)</label>
        </div>
        <div className="check">
          <input
            id="assign-round-robin"
            type="radio"
            name="auto-assign"
            checked={autoAssign === 'round_robin'}
            onChange={() => setAutoAssign('round_robin')}
          />
          <label htmlFor="assign-round-robin">Owners, admins and members in turn (round-robin)</label>
        </div>
      </fieldset>
      <ErrorText error={save.error} />
      {save.isSuccess && <p role="status">Saved.</p>}
      <button type="submit" className="primary" disabled={save.isPending}>
        Save alerts and assignment
      </button>
    </form>
  );
}
