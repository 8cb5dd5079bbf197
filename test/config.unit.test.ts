import t from 'tap';
import { ConfigError, loadConfig } from '../src/config.ts';

t.test('defaults apply when nothing is set', async (t) => {
  const config = loadConfig({});
  t.equal(config.PORT, 3000);
  t.equal(config.HOST, '127.0.0.1');
  t.equal(config.EVENT_STORE, 'postgres');
  t.equal(config.MESSAGING, 'log');
  t.ok(config.dataDir.endsWith('.data'));
  t.ok(Object.isFrozen(config));
});

t.test('a bad value names its variable', async (t) => {
  t.throws(() => loadConfig({ PORT: 'abc' }), { name: ConfigError.name, message: /^invalid PORT:/ });
  t.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), { message: /^invalid DATABASE_URL:/ });
  t.throws(() => loadConfig({ EVENT_STORE: 'kafka' }), { message: /^invalid EVENT_STORE:/ });
  t.throws(() => loadConfig({ LOG_LEVEL: 'loud' }), { message: /^invalid LOG_LEVEL:/ });
  t.throws(() => loadConfig({ TWILIO_ACCOUNT_SID: 'nope' }), { message: /^invalid TWILIO_ACCOUNT_SID:/ });
  t.throws(() => loadConfig({ METRICS_TOKEN: 'short' }), { message: /^invalid METRICS_TOKEN: must be at least 16 characters/ });
  t.throws(() => loadConfig({ METRICS_TOKEN: 'has a space in the middle' }), { message: /^invalid METRICS_TOKEN:/ });
  t.equal(loadConfig({ METRICS_TOKEN: 'abcdefghijklmnop' }).METRICS_TOKEN, 'abcdefghijklmnop');
});

t.test('webhook retry delays and the private-address switch (CONTRACT §9)', async (t) => {
  t.same(loadConfig({}).WEBHOOK_RETRY_DELAYS, [5, 300, 1800, 7200, 18000, 36000, 36000], 'the Standard Webhooks schedule by default');
  t.equal(loadConfig({}).WEBHOOK_ALLOW_PRIVATE, false);
  t.same(loadConfig({ WEBHOOK_RETRY_DELAYS: '0.5, 2,10' }).WEBHOOK_RETRY_DELAYS, [0.5, 2, 10]);
  t.equal(loadConfig({ WEBHOOK_ALLOW_PRIVATE: '1' }).WEBHOOK_ALLOW_PRIVATE, true);
  t.throws(() => loadConfig({ WEBHOOK_RETRY_DELAYS: '5,soon' }), {
    message: /^invalid WEBHOOK_RETRY_DELAYS: must be a comma-separated list of seconds/,
  });
  t.throws(() => loadConfig({ WEBHOOK_ALLOW_PRIVATE: 'yes' }), { message: /^invalid WEBHOOK_ALLOW_PRIVATE:/ });
});

t.test('choices that need a companion variable say which', async (t) => {
  t.throws(() => loadConfig({ EVENT_STORE: 'esdb' }), { message: /EVENTSTORE_CONNECTION_STRING/ });
  t.throws(() => loadConfig({ MESSAGING: 'twilio' }), { message: /TWILIO_ACCOUNT_SID/ });
  t.equal(loadConfig({ EVENT_STORE: 'esdb', EVENTSTORE_CONNECTION_STRING: 'esdb://localhost:2113?tls=false' }).EVENT_STORE, 'esdb');
});

t.test('empty strings count as unset', async (t) => {
  t.equal(loadConfig({ PORT: '' }).PORT, 3000);
});

t.test('READ_DATABASE_URL takes one or more comma-separated PostgreSQL URLs, and names itself when wrong', async (t) => {
  t.equal(loadConfig({}).READ_DATABASE_URL, undefined, 'unset: every read on the primary');
  t.same(loadConfig({ READ_DATABASE_URL: 'postgres://r1:5432/cs' }).READ_DATABASE_URL, ['postgres://r1:5432/cs']);
  t.same(loadConfig({ READ_DATABASE_URL: 'postgres://r1:5432/cs, postgresql://r2:5432/cs' }).READ_DATABASE_URL, [
    'postgres://r1:5432/cs',
    'postgresql://r2:5432/cs',
  ]);
  t.throws(() => loadConfig({ READ_DATABASE_URL: 'mysql://r1/cs' }), { message: /^invalid READ_DATABASE_URL: must be one or more/ });
  t.throws(() => loadConfig({ READ_DATABASE_URL: 'postgres://r1/cs,' }), { message: /^invalid READ_DATABASE_URL:/ });
});
