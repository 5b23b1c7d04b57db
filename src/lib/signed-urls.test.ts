import t from 'tap';
import { signResource, signedAttachmentUrl, verifyResource } from './signed-urls.js';

const secret = 'a-secret-that-is-long-enough-for-tests-000';

t.test('a token opens its resource until it expires', async (t) => {
  const now = 1_800_000_000;
  const tok = signResource(secret, 'attachment:7', 60, now);
  t.same(verifyResource(secret, tok, now + 59), { resource: 'attachment:7', exp: now + 60 });
  t.equal(verifyResource(secret, tok, now + 60), undefined, 'expired at exp');
});

t.test('tampering, another key or garbage fail', async (t) => {
  const tok = signResource(secret, 'attachment:7', 60);
  const [payload, mac] = tok.split('.');
  const forged = Buffer.from(JSON.stringify({ r: 'attachment:8', e: 9_999_999_999 })).toString('base64url');
  t.equal(verifyResource(secret, `${forged}.${mac}`), undefined, 'payload swapped');
  t.equal(verifyResource('another-secret-another-secret-another', tok), undefined, 'other key');
  t.equal(verifyResource(secret, `${payload}.${mac}x`), undefined);
  t.equal(verifyResource(secret, 'nonsense'), undefined);
  t.equal(verifyResource(secret, `${tok}.extra`), undefined);
});

t.test('attachment URLs', async (t) => {
  const url = new URL(signedAttachmentUrl('https://help.example.com', secret, 42));
  t.equal(url.pathname, '/api/attachments/42/download/');
  t.equal(verifyResource(secret, url.searchParams.get('signature')!)?.resource, 'attachment:42');
});
