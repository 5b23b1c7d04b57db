import t from 'tap';
import { secretBytes, sign, signedHeaders, verify } from './webhooks.js';

// Test vector from the Standard Webhooks reference implementations.
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const TS = 1614265330;
const BODY = '{"test": 2432232314}';
const EXPECTED = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';

t.test('sign matches the Standard Webhooks test vector (whsec_ secrets are base64-decoded)', async (t) => {
  t.equal(sign(SECRET, ID, TS, BODY), EXPECTED);
  t.equal(secretBytes('plain').toString(), 'plain', 'other secrets are raw bytes');
});

t.test('verify accepts a valid signature within tolerance, also among several', async (t) => {
  const h = { id: ID, timestamp: String(TS), signature: EXPECTED };
  t.same(verify(SECRET, h, BODY, TS + 10), { ok: true });
  t.same(verify(SECRET, { ...h, signature: `v1,bm90IGl0 ${EXPECTED}` }, BODY, TS), { ok: true });
  t.same(verify(SECRET, h, Buffer.from(BODY), TS), { ok: true }, 'buffers work');
});

t.test('verify rejects tampering, wrong secrets, stale or future timestamps, missing headers', async (t) => {
  const h = { id: ID, timestamp: String(TS), signature: EXPECTED };
  t.same(verify(SECRET, h, BODY + ' ', TS), { ok: false, reason: 'bad_signature' });
  t.same(verify(SECRET, { ...h, id: 'msg_other' }, BODY, TS), { ok: false, reason: 'bad_signature' });
  t.same(verify('whsec_' + Buffer.from('other').toString('base64'), h, BODY, TS), { ok: false, reason: 'bad_signature' });
  t.same(verify(SECRET, { ...h, signature: 'v2,' + EXPECTED.slice(3) }, BODY, TS), { ok: false, reason: 'bad_signature' });
  t.same(verify(SECRET, h, BODY, TS + 301), { ok: false, reason: 'stale_timestamp' });
  t.same(verify(SECRET, h, BODY, TS - 301), { ok: false, reason: 'stale_timestamp' });
  t.same(verify(SECRET, { ...h, timestamp: 'abc' }, BODY, TS), { ok: false, reason: 'bad_timestamp' });
  t.same(verify(SECRET, { id: ID, timestamp: String(TS) }, BODY, TS), { ok: false, reason: 'missing_headers' });
});

t.test('signedHeaders round-trips through verify with a raw secret', async (t) => {
  const h = signedHeaders('raw-secret', 'evt-1', '{"a":1}', 1000);
  t.same(verify('raw-secret', { id: h['webhook-id'], timestamp: h['webhook-timestamp'], signature: h['webhook-signature'] }, '{"a":1}', 1000), { ok: true });
});
