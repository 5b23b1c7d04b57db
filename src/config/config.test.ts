import t from 'tap';
import { ConfigError, loadConfig } from './config.js';

t.test('defaults', async (t) => {
  const c = loadConfig({});
  t.equal(c.port, 8000);
  t.equal(c.databaseUrl, undefined, 'no DATABASE_URL means the embedded database');
  t.match(c.dataDir, /\.smartsupport$/);
  t.equal(c.nodeEnv, 'development');
  t.equal(c.logLevel, 'info');
  t.equal(c.accessTokenTtlSeconds, 900);
  t.equal(c.llmModel, 'openai/gpt-4o-mini');
  t.equal(c.maxUploadBytes, 10 * 1024 * 1024);
});

const GOOD_KEY = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) % 256)).toString('base64');
const OLD_KEY = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 53 + 5) % 256)).toString('base64');

t.test('bad values fail fast and name the variable', async (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ PORT: 'eighty' }, /PORT must be an integer/],
    [{ PORT: '70000' }, /PORT must be between 0 and 65535/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL must use postgres: or postgresql:/],
    [{ DATABASE_URL: 'not a url' }, /DATABASE_URL must be an absolute URL/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of/],
    [{ NODE_ENV: 'production' }, /JWT_SECRET is required when NODE_ENV=production/],
    // issue 13: unsigned workflow callbacks are not accepted in production
    [{ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40), SECRETS_KEY: GOOD_KEY }, /WORKFLOW_SIGNING_SECRET is required when NODE_ENV=production/],
    // webhook signing secrets are sealed with their own key, not one derived from JWT_SECRET
    [{ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40) }, /SECRETS_KEY is required when NODE_ENV=production/],
    [{ SECRETS_KEY: Buffer.alloc(16, 7).toString('base64') }, /SECRETS_KEY must be base64 of exactly 32 bytes, got 16/],
    [{ SECRETS_KEY: Buffer.alloc(32, 7).toString('base64') }, /SECRETS_KEY is too weak/],
    [{ SECRETS_KEY: 'not base64!' }, /SECRETS_KEY must be base64/],
    [{ SECRETS_KEY: GOOD_KEY, SECRETS_KEY_PREVIOUS: `${GOOD_KEY},short` }, /SECRETS_KEY_PREVIOUS entries must be base64 of exactly 32 bytes/],
    [{ METRICS_TOKEN: 'short' }, /METRICS_TOKEN must be at least 24 characters/],
    [{ JWT_SECRET: 'short' }, /JWT_SECRET must be at least 32 characters/],
    [{ CORS_ORIGINS: 'example.com' }, /CORS_ORIGINS has an invalid origin/],
    [{ RUN_WORKER: 'maybe' }, /RUN_WORKER must be true or false/],
    [{ SMARTSUPPORT_ADMIN_EMAIL: 'a@b.c' }, /SMARTSUPPORT_ADMIN_PASSWORD must be set together/],
    [{ SMTP_URL: 'http://mail' }, /SMTP_URL must use smtp: or smtps:/],
  ];
  for (const [env, msg] of cases) {
    t.throws(() => loadConfig(env), msg, JSON.stringify(env));
    t.throws(() => loadConfig(env), ConfigError);
  }
});

t.test('values are parsed', async (t) => {
  const c = loadConfig({
    PORT: '9001',
    DATABASE_URL: 'postgres://u:p@db:5432/x',
    CORS_ORIGINS: 'https://a.example, http://localhost:3000',
    NODE_ENV: 'production',
    JWT_SECRET: 'x'.repeat(40),
    SECRETS_KEY: GOOD_KEY,
    SECRETS_KEY_PREVIOUS: ` ${OLD_KEY} `,
    WORKFLOW_SIGNING_SECRET: 'whsec_' + Buffer.from('s'.repeat(32)).toString('base64'),
    RUN_WORKER: 'false',
    MAX_UPLOAD_MB: '3',
    PUBLIC_URL: 'https://help.example.com/',
  });
  t.equal(c.port, 9001);
  t.same(c.corsOrigins, ['https://a.example', 'http://localhost:3000']);
  t.equal(c.runWorker, false);
  t.same(c.secretsKey, Buffer.from(GOOD_KEY, 'base64'));
  t.same(c.secretsKeyPrevious, [Buffer.from(OLD_KEY, 'base64')]);
  t.equal(c.maxUploadBytes, 3 * 1024 * 1024);
  t.equal(c.publicUrl, 'https://help.example.com', 'trailing slash trimmed');
});
