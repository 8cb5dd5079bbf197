import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { describeError, request } from '../api.ts';
import { useRouter } from '../router.tsx';
import { ErrorText } from '../error-text.tsx';

/** An invite link: the person chooses their password and is signed in. */
export function Invite({ token }: { token: string }) {
  const queryClient = useQueryClient();
  const { navigate } = useRouter();
  const invite = useQuery({
    queryKey: ['invite', token],
    queryFn: () => request<{ email: string; expiresAt: string }>(`/app/invitations/${encodeURIComponent(token)}`),
  });
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (password !== confirm) return setError('the two passwords differ');
    try {
      await request(`/app/invitations/${encodeURIComponent(token)}`, { method: 'POST', body: { password } });
      await queryClient.invalidateQueries({ queryKey: ['session'] });
      navigate('/app/leads', { replace: true });
    } catch (e) {
      setError(describeError(e));
    }
  };
  return (
    <main className="auth-page">
      {invite.isError ? (
        <section className="card auth" role="alert">
          <h1>This invite link no longer works</h1>
          <p>It was already used, it expired, or it was mistyped. Ask your admin for a new one.</p>
        </section>
      ) : (
        <form className="card auth" onSubmit={submit} aria-labelledby="invite-title">
          <h1 id="invite-title">Choose your password</h1>
          <p>{invite.data ? `Signing in as ${invite.data.email}.` : 'Checking the link…'}</p>
          <label htmlFor="new-password">New password (at least 10 characters)</label>
          <input
            id="new-password"
            type="password"
            autoComplete="new-password"
            minLength={10}
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          <label htmlFor="confirm-password">Repeat it</label>
          <input
            id="confirm-password"
            type="password"
            autoComplete="new-password"
            minLength={10}
            required
            value={confirm}
            onChange={(e) => setConfirm(e.target.value)}
          />
          <ErrorText message={error} />
          <button type="submit" className="primary" disabled={!invite.data}>
            Set password and sign in
          </button>
        </form>
      )}
    </main>
  );
}
