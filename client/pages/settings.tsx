import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { api } from '../api.ts';
import { when } from '../format.ts';
import type { Me, Role } from '../types.ts';
import { LoadError } from './problems.tsx';
import { Webhooks } from './webhooks.tsx';
import { TeamAlertsForm } from './alert-settings.tsx';
import { ErrorText } from '../error-text.tsx';

interface Window {
  start: string;
  end: string;
}
interface SettingsView {
  orgId: string;
  name: string;
  timezone: string;
  phones: string[];
  billingStatus: string;
  version: number;
  settings: {
    confirmations: boolean;
    reminderOffsetsMinutes: number[];
    textBack: boolean;
    textBackTemplate: string;
    optOutLine?: string;
    a2pCampaignId?: string | null;
    quietHours: Window | null;
    businessHours: Partial<Record<string, Window[]>>;
    crewCapacity: number;
    responseTargetMinutes?: number;
    textBackCooldownMinutes?: number;
    blackoutDates: { date: string; reason?: string }[];
    enabledActions: string[];
  };
}
interface Member {
  memberId: string;
  email: string;
  role: Role;
}
interface Token {
  id: string;
  label: string;
  scopes: string[];
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const DAY_NAMES: Record<string, string> = {
  mon: 'Monday',
  tue: 'Tuesday',
  wed: 'Wednesday',
  thu: 'Thursday',
  fri: 'Friday',
  sat: 'Saturday',
  sun: 'Sunday',
};

/** Settings (owner, admin): automation, business hours, members and roles, integration tokens, webhooks. */
export function SettingsPage({ me }: { me: Me }) {
  const settings = useQuery({ queryKey: ['settings'], queryFn: () => api<SettingsView>('/settings') });
  if (settings.isError) return <LoadError error={settings.error} role={me.role} />;
  if (!settings.data) return <p className="loading">Loading…</p>;
  return (
    <div className="settings">
      <h1>Settings for {settings.data.name}</h1>
      <SettingsForm view={settings.data} />
      <TeamAlertsForm settings={settings.data.settings} />
      <Members me={me} />
      <Tokens me={me} />
      <Webhooks me={me} />
    </div>
  );
}

const hoursText = (windows: Window[] | undefined) => (windows ?? []).map((w) => `${w.start}-${w.end}`).join(', ');

function SettingsForm({ view }: { view: SettingsView }) {
  const queryClient = useQueryClient();
  const s = view.settings;
  const [timezone, setTimezone] = useState(view.timezone);
  const [confirmations, setConfirmations] = useState(s.confirmations);
  const [reminders, setReminders] = useState(s.reminderOffsetsMinutes.join(', '));
  const [textBack, setTextBack] = useState(s.textBack);
  const [template, setTemplate] = useState(s.textBackTemplate);
  const [optOutLine, setOptOutLine] = useState(s.optOutLine ?? 'Reply STOP to opt out.');
  const [campaignId, setCampaignId] = useState(s.a2pCampaignId ?? '');
  const [quietStart, setQuietStart] = useState(s.quietHours?.start ?? '');
  const [quietEnd, setQuietEnd] = useState(s.quietHours?.end ?? '');
  const [capacity, setCapacity] = useState(String(s.crewCapacity));
  const [responseTarget, setResponseTarget] = useState(String(s.responseTargetMinutes ?? 5));
  const [cooldown, setCooldown] = useState(String(s.textBackCooldownMinutes ?? 60));
  const [hours, setHours] = useState<Record<string, string>>(() => Object.fromEntries(DAYS.map((d) => [d, hoursText(s.businessHours[d])])));
  const [blackouts, setBlackouts] = useState(s.blackoutDates.map((b) => `${b.date}${b.reason ? ` ${b.reason}` : ''}`).join('\n'));
  const [error, setError] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: (body: unknown) => api('/settings', { method: 'PUT', body }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ['settings'] });
      void queryClient.invalidateQueries({ queryKey: ['session'] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    const businessHours: Record<string, Window[]> = {};
    for (const d of DAYS) {
      const text = hours[d]!.trim();
      if (!text) continue;
      const windows = text.split(',').map((part) => {
        const [start, end] = part
          .trim()
          .split('-')
          .map((x) => x.trim());
        return { start: start ?? '', end: end ?? '' };
      });
      businessHours[d] = windows;
    }
    const body = {
      timezone: timezone.trim(),
      confirmations,
      reminderOffsetsMinutes: reminders
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean)
        .map(Number),
      textBack,
      textBackTemplate: template,
      optOutLine,
      a2pCampaignId: campaignId.trim() || null,
      quietHours: quietStart && quietEnd ? { start: quietStart, end: quietEnd } : null,
      crewCapacity: Number(capacity),
      responseTargetMinutes: Number(responseTarget),
      textBackCooldownMinutes: Number(cooldown),
      businessHours,
      blackoutDates: blackouts
        .split('\n')
        .map((line) => line.trim())
        .filter(Boolean)
        .map((line) => {
          const [date, ...reason] = line.split(/\s+/);
          return { date: date!, ...(reason.length && { reason: reason.join(' ') }) };
        }),
    };
    save.mutate(body);
  };
  return (
    <form className="card settings-form" onSubmit={submit} aria-labelledby="automation-title">
      <h2 id="automation-title">Business and automation</h2>
      <label htmlFor="set-timezone">Time zone (IANA, e.g. America/Chicago)</label>
      <input id="set-timezone" value={timezone} onChange={(e) => setTimezone(e.target.value)} />
      <fieldset>
        <legend>Business hours (e.g. 08:00-12:00, 13:00-17:00; empty = closed)</legend>
        {DAYS.map((d) => (
          <div key={d} className="inline">
            <label htmlFor={`hours-${d}`}>{DAY_NAMES[d]}</label>
            <input id={`hours-${d}`} value={hours[d]} onChange={(e) => setHours({ ...hours, [d]: e.target.value })} />
          </div>
        ))}
      </fieldset>
      <label htmlFor="set-capacity">Crew capacity (visits per arrival window)</label>
      <input id="set-capacity" type="number" min={1} max={100} value={capacity} onChange={(e) => setCapacity(e.target.value)} />
      <label htmlFor="set-response-target">Response target (minutes of business hours to answer a new lead)</label>
      <input
        id="set-response-target"
        type="number"
        min={1}
        max={1440}
        value={responseTarget}
        onChange={(e) => setResponseTarget(e.target.value)}
      />
      <label htmlFor="set-blackouts">Blackout dates (one per line: YYYY-MM-DD reason)</label>
      <textarea id="set-blackouts" rows={3} value={blackouts} onChange={(e) => setBlackouts(e.target.value)} />
      <label htmlFor="set-reminders">Reminders, minutes before the visit (comma-separated)</label>
      <input id="set-reminders" value={reminders} onChange={(e) => setReminders(e.target.value)} />
      <div className="check">
        <input id="set-confirmations" type="checkbox" checked={confirmations} onChange={(e) => setConfirmations(e.target.checked)} />
        <label htmlFor="set-confirmations">Send booking confirmations</label>
      </div>
      <div className="check">
        <input id="set-textback" type="checkbox" checked={textBack} onChange={(e) => setTextBack(e.target.checked)} />
        <label htmlFor="set-textback">Text back missed callers</label>
      </div>
      <label htmlFor="set-template">Text-back message ({'{{business}}'} is replaced by the business name)</label>
      <textarea id="set-template" rows={3} maxLength={640} value={template} onChange={(e) => setTemplate(e.target.value)} />
      <label htmlFor="set-textback-cooldown">
        Text-back cooldown (minutes: a caller texted back or answered by the team within it is not texted back again; 0 = none)
      </label>
      <input id="set-textback-cooldown" type="number" min={0} max={10080} value={cooldown} onChange={(e) => setCooldown(e.target.value)} />
      <label htmlFor="set-optout">Opt-out line (ends the first automated text to each number)</label>
      <input id="set-optout" maxLength={160} value={optOutLine} onChange={(e) => setOptOutLine(e.target.value)} />
      <label htmlFor="set-campaign">A2P 10DLC campaign id (carriers require it for texts from a local number)</label>
      <input id="set-campaign" placeholder="CM…" value={campaignId} onChange={(e) => setCampaignId(e.target.value)} />
      <p className="hint" data-testid="compliance-status">
        {campaignId.trim()
          ? `Sender registered under campaign ${campaignId.trim()}.`
          : 'No campaign id: with Twilio, automated texts stay off until one is set.'}
      </p>
      <fieldset>
        <legend>Quiet hours (no texts between; empty = none)</legend>
        <div className="row">
          <div>
            <label htmlFor="quiet-start">From</label>
            <input id="quiet-start" type="time" value={quietStart} onChange={(e) => setQuietStart(e.target.value)} />
          </div>
          <div>
            <label htmlFor="quiet-end">To</label>
            <input id="quiet-end" type="time" value={quietEnd} onChange={(e) => setQuietEnd(e.target.value)} />
          </div>
        </div>
      </fieldset>
      <ErrorText message={error} error={save.error} />
      {save.isSuccess && <p role="status">Saved.</p>}
      <button type="submit" className="primary" disabled={save.isPending}>
        Save settings
      </button>
    </form>
  );
}

function Members({ me }: { me: Me }) {
  const queryClient = useQueryClient();
  const members = useQuery({ queryKey: ['members'], queryFn: () => api<{ data: Member[] }>('/members') });
  const changeRole = useMutation({
    mutationFn: ({ memberId, role }: { memberId: string; role: Role }) =>
      api(`/members/${memberId}/role`, { method: 'PUT', body: { role } }),
    onSettled: () => void queryClient.invalidateQueries({ queryKey: ['members'] }),
  });
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('member');
  const invite = useMutation({
    mutationFn: () =>
      api<{ url: string; expiresAt: string; email: string }>('/members/invitations', { method: 'POST', body: { email, role } }),
    onSuccess: () => {
      setEmail('');
      void queryClient.invalidateQueries({ queryKey: ['members'] });
    },
  });
  return (
    <section className="card" aria-labelledby="members-title">
      <h2 id="members-title">Members and roles</h2>
      <ErrorText error={members.error} />
      <ErrorText error={changeRole.error} />
      <table className="table">
        <caption className="sr-only">Members</caption>
        <thead>
          <tr>
            <th scope="col">Email</th>
            <th scope="col">Role</th>
          </tr>
        </thead>
        <tbody>
          {members.data?.data.map((m) => (
            <tr key={m.memberId}>
              <td>{m.email}</td>
              <td>
                <label className="sr-only" htmlFor={`role-${m.memberId}`}>
                  Role of {m.email}
                </label>
                <select
                  id={`role-${m.memberId}`}
                  value={m.role}
                  disabled={m.memberId === me.memberId}
                  onChange={(e) => changeRole.mutate({ memberId: m.memberId, role: e.target.value as Role })}
                >
                  {['owner', 'admin', 'member', 'auditor'].map((r) => (
                    <option key={r} value={r}>
                      {r}
                    </option>
                  ))}
                </select>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form onSubmit={(e) => (e.preventDefault(), invite.mutate())} aria-labelledby="invite-form-title">
        <h3 id="invite-form-title">Invite someone</h3>
        <div className="row">
          <div>
            <label htmlFor="invite-email">Email</label>
            <input id="invite-email" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
          </div>
          <div>
            <label htmlFor="invite-role">Role</label>
            <select id="invite-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
              {['admin', 'member', 'auditor', ...(me.role === 'owner' ? ['owner'] : [])].map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </div>
        </div>
        <ErrorText error={invite.error} />
        {invite.data && (
          <p role="status" className="secret">
            Send {invite.data.email} this single-use link (expires {when(invite.data.expiresAt, me.timezone)}):{' '}
            <code>{invite.data.url}</code>
          </p>
        )}
        <button type="submit" disabled={invite.isPending}>
          Create invite link
        </button>
      </form>
    </section>
  );
}

function Tokens({ me }: { me: Me }) {
  const queryClient = useQueryClient();
  const tokens = useQuery({ queryKey: ['tokens'], queryFn: () => api<{ data: Token[] }>('/tokens') });
  const [label, setLabel] = useState('');
  const [scopes, setScopes] = useState<string[]>(['READ_BOOKINGS']);
  const [secret, setSecret] = useState<{ token: string; label: string } | null>(null);
  useEffect(() => () => setSecret(null), []);
  const create = useMutation({
    mutationFn: () => api<{ id: string; token: string; label: string }>('/tokens', { method: 'POST', body: { label, scopes } }),
    onSuccess: (created) => {
      setSecret({ token: created.token, label: created.label });
      setLabel('');
      void queryClient.invalidateQueries({ queryKey: ['tokens'] });
    },
  });
  const revoke = useMutation({
    mutationFn: (id: string) => api(`/tokens/${id}`, { method: 'DELETE' }),
    onSettled: () => void queryClient.invalidateQueries({ queryKey: ['tokens'] }),
  });
  const toggle = (scope: string) => setScopes(scopes.includes(scope) ? scopes.filter((s) => s !== scope) : [...scopes, scope]);
  return (
    <section className="card" aria-labelledby="tokens-title">
      <h2 id="tokens-title">Integration tokens</h2>
      <ErrorText error={tokens.error} />
      <table className="table">
        <caption className="sr-only">Integration tokens</caption>
        <thead>
          <tr>
            <th scope="col">Label</th>
            <th scope="col">Scopes</th>
            <th scope="col">Last used</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {tokens.data?.data.map((t) => (
            <tr key={t.id}>
              <td>{t.label}</td>
              <td>{t.scopes.join(', ')}</td>
              <td>{t.lastUsedAt ? when(t.lastUsedAt, me.timezone) : 'never'}</td>
              <td>
                {t.revokedAt ? (
                  `revoked ${when(t.revokedAt, me.timezone)}`
                ) : (
                  <button type="button" className="danger small" onClick={() => revoke.mutate(t.id)} aria-label={`Revoke ${t.label}`}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form onSubmit={(e) => (e.preventDefault(), create.mutate())} aria-labelledby="token-form-title">
        <h3 id="token-form-title">New token</h3>
        <label htmlFor="token-label">Label (who holds it)</label>
        <input id="token-label" required maxLength={200} value={label} onChange={(e) => setLabel(e.target.value)} />
        <fieldset>
          <legend>Scopes</legend>
          {['READ_BOOKINGS', 'WRITE_BOOKINGS'].map((s) => (
            <div className="check" key={s}>
              <input id={`scope-${s}`} type="checkbox" checked={scopes.includes(s)} onChange={() => toggle(s)} />
              <label htmlFor={`scope-${s}`}>{s}</label>
            </div>
          ))}
        </fieldset>
        <ErrorText error={create.error} />
        {secret && (
          <p role="status" className="secret">
            Token for {secret.label}, shown once — copy it now: <code data-testid="token-secret">{secret.token}</code>
          </p>
        )}
        <button type="submit" disabled={create.isPending || !scopes.length}>
          Create token
        </button>
      </form>
    </section>
  );
}
