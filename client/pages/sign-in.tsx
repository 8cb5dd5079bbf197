import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { describeError, request } from '../api.ts';
import { ErrorText } from '../error-text.tsx';

/**
 * "Forgot your password?": asks for a link to the person's own email (POST /app/password-resets); the
 * answer is the same whether the email signs in here or not.
 */
function ForgotPassword({ initialEmail, onBack }: { initialEmail: string; onBack: () => void }) {
  const [email, setEmail] = useState(initialEmail);
  const [sent, setSent] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await request('/app/password-resets', { method: 'POST', body: { email } });
      setSent(email);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="auth-page">
      <form className="card auth" onSubmit={submit} aria-labelledby="reset-title">
        <h1 id="reset-title">Reset your password</h1>
        <label htmlFor="reset-email">Email</label>
        <input id="reset-email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
        {sent && (
          <p role="status" data-testid="reset-sent">
            If {sent} signs in here, a link to choose a new password is on its way. It works once, for 1 hour.
          </p>
        )}
        <ErrorText message={error} testId="reset-error" />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Sending…' : 'Email me a link'}
        </button>
        <button type="button" className="link" onClick={onBack}>
          Back to sign in
        </button>
      </form>
    </main>
  );
}

/** Email + password sign-in (POST /app/session). */
export function SignIn() {
  const queryClient = useQueryClient();
  const [forgot, setForgot] = useState(false);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await request('/app/session', { method: 'POST', body: { email, password } });
      await queryClient.invalidateQueries({ queryKey: ['session'] });
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  if (forgot) return <ForgotPassword initialEmail={email} onBack={() => setForgot(false)} />;
  return (
    <main className="auth-page">
      <form className="card auth" onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Sign in to CallSnare</h1>
        <label htmlFor="email">Email</label>
        <input id="email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
        <label htmlFor="password">Password</label>
        <input
          id="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <ErrorText message={error} testId="sign-in-error" />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <button type="button" className="link" onClick={() => setForgot(true)}>
          Forgot your password?
        </button>
        <p className="hint">No password yet? Ask your admin for an invite link.</p>
      </form>
    </main>
  );
}
