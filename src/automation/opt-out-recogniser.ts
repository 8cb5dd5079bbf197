/**
 * What an inbound text says about consent (CONTRACT §8), decided from its body alone. One table of
 * examples pins it (test/automation/opt-out-recogniser.unit.test.ts).
 *
 * - `opt_out` `keyword`: the whole text (trimmed, any case, inner spaces and trailing punctuation ignored) is
 *   STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE or OPTOUT (CTIA handbook, Twilio's default set).
 * - `opt_out` `phrase`: a plain request to stop texting ("stop texting me", "don't text me", "remove me from
 *   your list", "unsubscribe me", ...) — the FCC's 2025 rule: consent may be revoked by any reasonable means.
 * - `opt_in`: START, UNSTOP or YES.
 * - `help`: HELP or INFO.
 * - `possible_opt_out`: a text with an opt-out word that is not plainly a revocation ("stop by Tuesday?",
 *   "please stop"): not guessed either way, the team sees it flagged on the timeline and decides.
 * - `none`: anything else.
 */
export type ConsentIntent =
  | { readonly kind: 'opt_out'; readonly source: 'keyword' | 'phrase' }
  | { readonly kind: 'opt_in' }
  | { readonly kind: 'help' }
  | { readonly kind: 'possible_opt_out' }
  | { readonly kind: 'none' };

const STOP_KEYWORDS = new Set(['stop', 'stopall', 'unsubscribe', 'cancel', 'end', 'quit', 'revoke', 'optout']);
const START_KEYWORDS = new Set(['start', 'unstop', 'yes']);
const HELP_KEYWORDS = new Set(['help', 'info']);

/** Plain-language revocations: each must name texting/messages/contact or the list, so "stop by" never matches. */
const REVOCATIONS: readonly RegExp[] = [
  /\b(stop|quit|cease|no more)\s+(texting|txting|messaging|sending|contacting|spamming|msging)\b/,
  /\b(stop|no more)\s+(the\s+)?(texts?|txts?|messages?|msgs?|sms)\b/,
  /\b(do ?n.?t|do not|never)\s+(text|txt|message|msg|contact|sms)\s+(me|us|this number)\b/,
  /\b(remove|delete|take)\s+(me|my number|this number)\s+(from|off)\b/,
  /\bunsubscribe\s+(me|this number)\b/,
  /\bopt\s*(me\s+)?out\b/,
  /\b(no|dont|don't|do not) (want|wish) (any )?(more )?(texts?|messages?)\b/,
  /\bleave me alone\b/,
  /\bwrong number\b.*\b(stop|remove|don.?t text)\b/,
];

/** Opt-out words anywhere in a text that is not plainly a revocation: worth a person's look. */
const SUSPICIOUS = /\b(stop|stopall|unsubscribe|cancel|end|quit|revoke|optout|remove)\b/;

/** Lower case, curly quotes straightened, whitespace collapsed. */
function normalise(body: string): string {
  return body
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\u2018\u2019\u02bc]/g, "'")
    .replace(/\s+/g, ' ')
    .trim();
}

/** The whole text as one word: everything but letters and digits removed ("S T O P!", "STOP 🛑" → "stop"). */
function asKeyword(text: string): string {
  return text.replace(/[^\p{L}\p{N}]+/gu, '');
}

/** What an inbound text says about consent. */
export function recogniseConsent(body: string): ConsentIntent {
  const text = normalise(body);
  if (!text) return { kind: 'none' };
  const word = asKeyword(text);
  if (STOP_KEYWORDS.has(word)) return { kind: 'opt_out', source: 'keyword' };
  if (START_KEYWORDS.has(word)) return { kind: 'opt_in' };
  if (HELP_KEYWORDS.has(word)) return { kind: 'help' };
  if (REVOCATIONS.some((re) => re.test(text))) return { kind: 'opt_out', source: 'phrase' };
  if (SUSPICIOUS.test(text)) return { kind: 'possible_opt_out' };
  return { kind: 'none' };
}

/** Twilio's `OptOutType` parameter (its Advanced Opt-Out already acted on the keyword) as our intent. */
export function intentOfOptOutType(value: string | undefined): ConsentIntent | undefined {
  switch (value?.toUpperCase()) {
    case 'STOP':
      return { kind: 'opt_out', source: 'keyword' };
    case 'START':
      return { kind: 'opt_in' };
    case 'HELP':
      return { kind: 'help' };
    default:
      return undefined;
  }
}
