/**
 * Webhook signing secrets are sealed under their own key (SECRETS_KEY), not one derived from
 * JWT_SECRET (docs/deployment.md, "Secrets at rest"). Instances are started on one database with
 * different settings, one after another, and each signs a ping the receiver verifies with the
 * secret it was given at creation:
 * - rotating JWT_SECRET keeps webhooks verifiable;
 * - rotating SECRETS_KEY with the old key in SECRETS_KEY_PREVIOUS keeps them readable, and the
 *   values are re-sealed under the new key (after which the old key is no longer needed);
 * - values sealed before SECRETS_KEY existed (v1, JWT_SECRET-derived key) are read and re-sealed,
 *   at start-up and lazily on delivery;
 * - a value sealed with an unknown key fails the delivery with a clear reason; the process lives on.
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t, { type Test as TapTest } from 'tap';
import { createContext } from '../src/app/context.js';
import { features } from '../src/app/features.js';
import { createApp, listen } from '../src/app/server.js';
import { startWorkers } from '../src/app/worker.js';
import { Api, appDatabaseEnv, createApiKey, startTestApp, testConfig, TEST_JWT_SECRET, type T, type TestApp } from './helpers/harness.js';
import { waitFor } from './helpers/outbound.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { signatureValid } from './helpers/sse.js';

const FAST = { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WORKFLOW_RETRY_BASE_MS: '50', WORKFLOW_RETRY_MAX_MS: '300', WEBHOOK_TIMEOUT_MS: '5000' };
const K1 = randomBytes(32).toString('base64');
const K2 = randomBytes(32).toString('base64');
const K3 = randomBytes(32).toString('base64');
/** the key id, computed here from its definition (docs/deployment.md), not by the code under test */
const kid = (k: string) => createHash('sha256').update('smartsupport secrets key id\0').update(Buffer.from(k, 'base64')).digest('hex').slice(0, 16);

/** How a secret was sealed before SECRETS_KEY existed: AES-256-GCM under sha256("smartsupport webhook secrets\n" + JWT_SECRET). */
function sealV1(jwtSecret: string, secret: string): string {
  const key = createHash('sha256').update(`smartsupport webhook secrets\n${jwtSecret}`).digest();
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([c.update(secret, 'utf8'), c.final()]);
  return `v1.${iv.toString('base64url')}.${c.getAuthTag().toString('base64url')}.${ct.toString('base64url')}`;
}

/** Another instance (API + workers) on the test app's database with its own settings; stop() ends it. */
async function instance(t: T, ta: TestApp, env: Record<string, string>) {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'ss-secrets-'));
  // the test app's database settings (through the pooler with its direct URL under TEST_PGBOUNCER=1)
  const app = await createContext(testConfig(ta.app.databaseUrl, dataDir, { ...appDatabaseEnv(ta.app), ...FAST, ...env }), { migrate: false, supervise: false });
  for (const f of features) await f.onStart?.(app);
  const http = await listen(createApp(app, features), 0, '127.0.0.1');
  await startWorkers(app, features);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await http.close(2_000);
    await app.close();
    await rm(dataDir, { recursive: true, force: true });
  };
  t.teardown(stop);
  return { app, api: new Api(http.url, t), dataDir, stop };
}

async function pingVerified(t: TapTest, api: Api, apiKey: string, hookId: number, r: Receiver, secret: string, what: string) {
  const before = r.requests.length;
  const p = await api.post(`/api/webhooks/${hookId}/ping/`, undefined, { apiKey });
  t.equal(p.status, 202, `${what}: ping accepted`);
  await waitFor(async () => r.requests.length > before, `${what}: ping delivered`);
  const req = r.requests[r.requests.length - 1]!;
  t.ok(signatureValid(secret, req.headers, req.body), `${what}: signed with the secret given at creation`);
}

const sealedOf = async (ta: TestApp, id: number) => (await ta.db('webhook_endpoints').where({ id }).first('secret_enc', 'previous_secret_enc')) as { secret_enc: string; previous_secret_enc: string | null };

t.test('rotating JWT_SECRET, then SECRETS_KEY (with the previous key), keeps webhooks verifiable', async (t) => {
  const ta = await startTestApp(t, { env: { ...FAST, SECRETS_KEY: K1 } });
  const r = await startReceiver(t, () => 204);
  const key = await createApiKey(ta.db, { role: 'System Admin', scopes: ['webhooks:write'] });
  const h = await ta.api.post('/api/webhooks/', { url: `${r.url}/in`, event_types: ['faq.*'] }, { apiKey: key.key });
  t.equal(h.status, 201);
  const secret = h.body.secret as string;
  const sealed = await sealedOf(ta, h.body.id);
  t.match(sealed.secret_enc, new RegExp(`^v2\\.${kid(K1)}\\.`), 'sealed under SECRETS_KEY, naming its key id');
  t.notOk(sealed.secret_enc.includes(secret.slice(6, 20)), 'not stored in the clear');

  // a new JWT_SECRET (tokens are signed differently), the same SECRETS_KEY
  const a = await instance(t, ta, { JWT_SECRET: 'another-jwt-secret-another-jwt-secret-0123', SECRETS_KEY: K1 });
  await pingVerified(t, a.api, key.key, h.body.id, r, secret, 'after a JWT_SECRET rotation');
  await a.stop();

  // rotate the secrets key: the new one seals, the old one still opens; start-up re-seals
  const b = await instance(t, ta, { SECRETS_KEY: K2, SECRETS_KEY_PREVIOUS: K1 });
  t.match((await sealedOf(ta, h.body.id)).secret_enc, new RegExp(`^v2\\.${kid(K2)}\\.`), 're-sealed under the new key at start-up');
  await pingVerified(t, b.api, key.key, h.body.id, r, secret, 'after a SECRETS_KEY rotation');
  // a secret rotation during the overlap: both secrets sign (the previous one was sealed under K2 too)
  const rot = await b.api.post(`/api/webhooks/${h.body.id}/rotate-secret/`, { overlap_hours: 1 }, { apiKey: key.key });
  t.equal(rot.status, 200);
  await pingVerified(t, b.api, key.key, h.body.id, r, rot.body.secret, 'the new secret');
  t.ok(signatureValid(secret, r.requests.at(-1)!.headers, r.requests.at(-1)!.body), 'and the old one, during the overlap');
  await b.stop();

  // the old key can go once everything was re-sealed
  const c = await instance(t, ta, { SECRETS_KEY: K2 });
  await pingVerified(t, c.api, key.key, h.body.id, r, rot.body.secret, 'with the old key removed');
  await c.stop();
});

t.test('values sealed before SECRETS_KEY existed (JWT_SECRET-derived) are read and re-sealed', async (t) => {
  const ta = await startTestApp(t, { env: { ...FAST, SECRETS_KEY: K1 } });
  const r = await startReceiver(t, () => 204);
  const key = await createApiKey(ta.db, { role: 'System Admin', scopes: ['webhooks:write'] });
  const mk = async () => (await ta.api.post('/api/webhooks/', { url: `${r.url}/in`, event_types: ['faq.*'] }, { apiKey: key.key })).body as { id: number; secret: string };
  const atStart = await mk();
  const lazy = await mk();
  // as an older version stored them
  await ta.db('webhook_endpoints').where({ id: atStart.id }).update({ secret_enc: sealV1(TEST_JWT_SECRET, atStart.secret) });

  const a = await instance(t, ta, { SECRETS_KEY: K2 });
  t.match((await sealedOf(ta, atStart.id)).secret_enc, new RegExp(`^v2\\.${kid(K2)}\\.`), 'start-up re-sealed the v1 value under SECRETS_KEY');
  await pingVerified(t, a.api, key.key, atStart.id, r, atStart.secret, 're-sealed at start-up');

  // one that appears after start-up (e.g. restored from a backup) is re-sealed when a delivery reads it
  await ta.db('webhook_endpoints').where({ id: lazy.id }).update({ secret_enc: sealV1(TEST_JWT_SECRET, lazy.secret) });
  await pingVerified(t, a.api, key.key, lazy.id, r, lazy.secret, 'v1 value read on delivery');
  await waitFor(async () => (await sealedOf(ta, lazy.id)).secret_enc.startsWith(`v2.${kid(K2)}.`), 're-sealed lazily');
  await a.stop();

  // a development instance without SECRETS_KEY generates one once into the data dir (0600)
  const dev = await instance(t, ta, {});
  const file = path.join(dev.dataDir, 'secrets-key');
  t.ok(existsSync(file), 'secrets-key generated');
  t.equal(statSync(file).mode & 0o777, 0o600);
  t.equal(Buffer.from((await import('node:fs')).readFileSync(file, 'utf8').trim(), 'base64').length, 32);
  await dev.stop();
});

t.test('a value sealed with an unknown key: the delivery fails with the reason, the process lives on', async (t) => {
  const ta = await startTestApp(t, { env: { ...FAST, SECRETS_KEY: K1 } });
  const r = await startReceiver(t, () => 204);
  const key = await createApiKey(ta.db, { role: 'System Admin', scopes: ['webhooks:write'] });
  const h = (await ta.api.post('/api/webhooks/', { url: `${r.url}/in`, event_types: ['faq.*'] }, { apiKey: key.key })).body as { id: number; secret: string };
  const before = (await sealedOf(ta, h.id)).secret_enc;

  // K1 is neither SECRETS_KEY nor in SECRETS_KEY_PREVIOUS here
  const a = await instance(t, ta, { SECRETS_KEY: K3, SECRETS_KEY_PREVIOUS: K2 });
  t.equal((await sealedOf(ta, h.id)).secret_enc, before, 'start-up leaves what it cannot open alone');
  const p = await a.api.post(`/api/webhooks/${h.id}/ping/`, undefined, { apiKey: key.key });
  t.equal(p.status, 202);
  const d = await waitFor(async () => {
    const log = await a.api.get(`/api/webhooks/${h.id}/deliveries/`, { apiKey: key.key });
    const row = log.body.data.find((x: { id: number }) => x.id === p.body.id);
    return row && row.status !== 'pending' ? row : undefined;
  }, 'the delivery settled');
  t.equal(d.status, 'failed');
  t.match(d.last_error, new RegExp(`unknown key \\(key id ${kid(K1)}\\).*SECRETS_KEY_PREVIOUS`), 'names the key it needs and where to configure it');
  t.equal(r.requests.length, 0, 'nothing unsigned was sent');
  t.equal((await a.api.get('/api/webhooks/', { apiKey: key.key })).status, 200, 'the instance still answers');
  await a.stop();

  // configuring the key makes it readable again; redeliver sends it
  const b = await instance(t, ta, { SECRETS_KEY: K3, SECRETS_KEY_PREVIOUS: `${K2},${K1}` });
  const re = await b.api.post(`/api/webhooks/${h.id}/deliveries/${p.body.id}/redeliver/`, undefined, { apiKey: key.key });
  t.equal(re.status, 202);
  await waitFor(async () => r.requests.length === 1, 'redelivered');
  t.ok(signatureValid(h.secret, r.requests[0]!.headers, r.requests[0]!.body));
  t.match((await sealedOf(ta, h.id)).secret_enc, new RegExp(`^v2\\.${kid(K3)}\\.`));
  await b.stop();
});
