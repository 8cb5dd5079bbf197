/**
 * The protections every response carries (issue 21 item 11), in one place: the `onSend` hook sets them on
 * ordinary replies, and a hijacked reply (the live feed's event stream) writes them itself.
 *
 * - `X-Content-Type-Options: nosniff`: a browser never guesses a type (a JSON body is never run as script).
 * - `Content-Security-Policy`: the page shell sets its own; every other answer gets one that lets it load
 *   nothing and never be framed, so a response opened directly as a document can do nothing.
 * - `Strict-Transport-Security` when `PUBLIC_BASE_URL` is https: browsers keep to https for a year.
 */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export function securityHeaders(https: boolean): Record<string, string> {
  return {
    'x-content-type-options': 'nosniff',
    'content-security-policy': API_CSP,
    ...(https && { 'strict-transport-security': 'max-age=31536000; includeSubDomains' }),
  };
}
