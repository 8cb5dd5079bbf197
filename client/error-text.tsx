import { describeError } from './api.ts';

/**
 * The one way a page shows a failure: an alert paragraph with `message`, or else the description of a
 * failed call's `error`. Renders nothing when there is neither.
 */
export function ErrorText({ error, message, testId }: { error?: unknown; message?: string | null; testId?: string }) {
  const text = message || (error == null ? '' : describeError(error));
  if (!text) return null;
  return (
    <p className="error" role="alert" data-testid={testId}>
      {text}
    </p>
  );
}
