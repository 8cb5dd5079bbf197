import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_CHARS = 32; // 32 base62 characters ≈ 190 bits
const CHECKSUM_CHARS = 6;

/** Token kinds and their prefixes. */
export const TOKEN_PREFIX = { integration: 'cs_live_', member: 'cs_member_' } as const;
export type TokenKind = keyof typeof TOKEN_PREFIX;

function base62(bytes: Buffer, length: number): string {
  let out = '';
  // Rejection sampling keeps every character uniform.
  let pool = bytes;
  let i = 0;
  while (out.length < length) {
    if (i >= pool.length) {
      pool = randomBytes(length * 2);
      i = 0;
    }
    const b = pool[i++]!;
    if (b < 248) out += ALPHABET[b % 62]!;
  }
  return out;
}

function checksum(body: string): string {
  let n = crc32(body);
  let out = '';
  for (let i = 0; i < CHECKSUM_CHARS; i++) {
    out = ALPHABET[n % 62]! + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/** Mints a secret token: prefix + random + checksum (e.g. `cs_live_...`). */
export function mintToken(kind: TokenKind): string {
  const body = TOKEN_PREFIX[kind] + base62(randomBytes(RANDOM_CHARS * 2), RANDOM_CHARS);
  return body + checksum(body);
}

/** True when a string has a token's shape and a valid checksum (no database needed to reject typos). */
export function isWellFormedToken(token: string, kind?: TokenKind): boolean {
  const kinds = kind ? [kind] : (Object.keys(TOKEN_PREFIX) as TokenKind[]);
  return kinds.some((k) => {
    const prefix = TOKEN_PREFIX[k];
    if (!token.startsWith(prefix) || token.length !== prefix.length + RANDOM_CHARS + CHECKSUM_CHARS) return false;
    if (!/^[0-9A-Za-z]+$/.test(token.slice(prefix.length))) return false;
    const body = token.slice(0, -CHECKSUM_CHARS);
    return checksum(body) === token.slice(-CHECKSUM_CHARS);
  });
}

/** What is stored and looked up: the token's SHA-256. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
