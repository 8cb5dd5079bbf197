import t from 'tap';
import { hashToken, isWellFormedToken, mintToken } from '../../src/identity/index.ts';

t.test('minted tokens carry their prefix, enough randomness and a valid checksum', async (t) => {
  const token = mintToken('integration');
  t.match(token, /^cs_live_[0-9A-Za-z]{38}$/);
  t.ok(isWellFormedToken(token, 'integration'));
  t.notOk(isWellFormedToken(token, 'member'), 'an integration token is not a member token');
  t.match(mintToken('member'), /^cs_member_[0-9A-Za-z]{38}$/);
  const many = new Set(Array.from({ length: 1000 }, () => mintToken('integration')));
  t.equal(many.size, 1000);
});

t.test('a changed character fails the checksum', async (t) => {
  const token = mintToken('integration');
  const i = 12;
  const flipped = token.slice(0, i) + (token[i] === 'a' ? 'b' : 'a') + token.slice(i + 1);
  t.notOk(isWellFormedToken(flipped));
  t.notOk(isWellFormedToken('cs_live_short'));
  t.notOk(isWellFormedToken(`${token}x`));
});

t.test('the stored form is a SHA-256 hex digest', async (t) => {
  t.match(hashToken(mintToken('integration')), /^[0-9a-f]{64}$/);
});
