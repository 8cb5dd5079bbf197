import fc from 'fast-check';
import t from 'tap';
import { type ConsentIntent, intentOfOptOutType, recogniseConsent } from '../../src/automation/opt-out-recogniser.ts';

type Kind = ConsentIntent['kind'] | 'keyword' | 'phrase';

/** The recogniser's table: what each inbound text means (`keyword`/`phrase`: an opt-out by that source). */
const EXAMPLES: readonly [string, Kind][] = [
  // Keywords, any case and spacing (CONTRACT §8).
  ['STOP', 'keyword'],
  ['stop', 'keyword'],
  ['  Stop  ', 'keyword'],
  ['STOP.', 'keyword'],
  ['Stop!', 'keyword'],
  ['S T O P', 'keyword'],
  ['STOPALL', 'keyword'],
  ['stop all', 'keyword'],
  ['UNSUBSCRIBE', 'keyword'],
  ['Unsubscribe', 'keyword'],
  ['CANCEL', 'keyword'],
  ['cancel', 'keyword'],
  ['END', 'keyword'],
  ['end.', 'keyword'],
  ['QUIT', 'keyword'],
  ['quit', 'keyword'],
  ['REVOKE', 'keyword'],
  ['OPTOUT', 'keyword'],
  ['opt-out', 'keyword'],
  ['Opt out', 'keyword'],
  ['\tSTOP\n', 'keyword'],
  // Plain revocations (FCC 2025: any reasonable means).
  ['stop texting me', 'phrase'],
  ['Please stop texting me.', 'phrase'],
  ["Don't text me", 'phrase'],
  ['don\u2019t text me again', 'phrase'],
  ['Do not text me anymore', 'phrase'],
  ['dont message me', 'phrase'],
  ['remove me from your list', 'phrase'],
  ['Please remove my number from your list', 'phrase'],
  ['take me off your list', 'phrase'],
  ['unsubscribe me please', 'phrase'],
  ['stop sending me messages', 'phrase'],
  ['no more texts please', 'phrase'],
  ['STOP THE TEXTS', 'phrase'],
  ['I do not want any more texts', 'phrase'],
  ['please opt me out', 'phrase'],
  ['Leave me alone', 'phrase'],
  ['quit messaging me', 'phrase'],
  // Opt-in and help.
  ['START', 'opt_in'],
  ['start', 'opt_in'],
  ['UNSTOP', 'opt_in'],
  ['Yes', 'opt_in'],
  ['HELP', 'help'],
  ['help?', 'help'],
  ['INFO', 'help'],
  // Look-alikes: not revocations. Ones with an opt-out word are surfaced to the team, never guessed.
  ['Can you stop by Tuesday?', 'possible_opt_out'],
  ['Please stop', 'possible_opt_out'],
  ['I need to cancel my appointment', 'possible_opt_out'],
  ['The leak is at the end of the hall', 'possible_opt_out'],
  ['The water will not stop running', 'possible_opt_out'],
  ['Yes, 3pm works', 'none'],
  ['Starting to smell gas, come quick', 'none'],
  ['Can someone help me with my AC?', 'none'],
  ['Stopcock is broken', 'none'],
  ['what info do you need?', 'none'],
  ['', 'none'],
  ['   ', 'none'],
  ['\u{1F44D}', 'none'],
  ['STOP \u{1F6D1}', 'keyword'],
];

const kindOf = (intent: ConsentIntent): Kind => (intent.kind === 'opt_out' ? intent.source : intent.kind);

t.test('the table: at least 40 examples, each recognised as written', async (t) => {
  t.ok(EXAMPLES.length >= 40, `${EXAMPLES.length} examples`);
  for (const [body, expected] of EXAMPLES) t.equal(kindOf(recogniseConsent(body)), expected, JSON.stringify(body));
});

const keywords = ['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT'];

t.test('property: every stop keyword in any case, padded with any whitespace, is a keyword opt-out', async () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...keywords),
      fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
      fc.stringMatching(/^[ \t\n]{0,4}$/),
      fc.stringMatching(/^[ \t\n]{0,4}$/),
      fc.constantFrom('', '.', '!', '!!'),
      (word, upper, before, after, punct) => {
        const cased = [...word].map((c, i) => (upper[i % upper.length] ? c.toUpperCase() : c.toLowerCase())).join('');
        const intent = recogniseConsent(`${before}${cased}${punct}${after}`);
        return intent.kind === 'opt_out' && intent.source === 'keyword';
      },
    ),
  );
});

t.test('property: any text never throws and a text with no opt-out word is never an opt-out', async () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 1600, unit: 'grapheme' }), (body) => {
      const intent = recogniseConsent(body);
      const words = body.toLowerCase();
      if (!/(stop|unsub|cancel|end|quit|revoke|opt|remove|delete|take|text|message|msg|alone|sms|txt)/.test(words))
        return intent.kind !== 'opt_out';
      return true;
    }),
  );
});

t.test("Twilio's OptOutType is honoured as sent", async (t) => {
  t.same(intentOfOptOutType('STOP'), { kind: 'opt_out', source: 'keyword' });
  t.same(intentOfOptOutType('START'), { kind: 'opt_in' });
  t.same(intentOfOptOutType('HELP'), { kind: 'help' });
  t.equal(intentOfOptOutType(undefined), undefined);
  t.equal(intentOfOptOutType('SOMETHING'), undefined);
});
