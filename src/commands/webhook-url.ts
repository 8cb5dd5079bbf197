import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** A webhook URL refused: not http(s), or it resolves to an address integrations may not reach us through. */
export class WebhookUrlError extends Error {
  override name = 'WebhookUrlError';
}

/**
 * Whether an address is a public unicast one: not loopback, link-local, private (RFC 1918, unique local),
 * carrier-grade NAT, unspecified, multicast, broadcast or reserved (ipaddr.js's ranges; an IPv4-mapped
 * IPv6 address is judged as the IPv4 address it carries).
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  return ipaddr.process(address).range() === 'unicast';
}

/** Parses a webhook URL: only http and https, no credentials in it. */
export function parseWebhookUrl(raw: string): URL {
  if (!URL.canParse(raw)) throw new WebhookUrlError('url must be an absolute http(s) URL');
  const url = new URL(raw);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new WebhookUrlError(`url must use http or https, not ${url.protocol.slice(0, -1)}`);
  if (url.username || url.password) throw new WebhookUrlError('url must not carry a user name or password');
  return url;
}

const hostOf = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1');

/**
 * Resolves the URL's host (as the sender will) and returns the address to connect to, refusing one that
 * is not public unless `allowPrivate`. Every address the name resolves to must be public: a name that
 * mixes a public and a private answer is refused, whichever the resolver would hand out next time.
 */
export async function resolveWebhookHost(url: URL, allowPrivate: boolean): Promise<{ address: string; family: 4 | 6 }> {
  const host = hostOf(url);
  const literal = isIP(host);
  const addresses = literal
    ? [{ address: host, family: literal }]
    : await lookup(host, { all: true, verbatim: true }).catch((error: unknown) => {
        throw new WebhookUrlError(`cannot resolve ${host}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      });
  if (addresses.length === 0) throw new WebhookUrlError(`cannot resolve ${host}`);
  if (!allowPrivate) {
    const refused = addresses.find((a) => !isPublicAddress(a.address));
    if (refused) {
      throw new WebhookUrlError(
        `url resolves to ${refused.address}, a loopback, link-local or private address (set WEBHOOK_ALLOW_PRIVATE=1 for local testing)`,
      );
    }
  }
  const first = addresses[0]!;
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}
