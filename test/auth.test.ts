/**
 * Sessions: login portals and refusals, JWT negative cases, refresh rotation and family
 * revocation (also under concurrency), logout, password change/forgot/reset, login throttling,
 * the API keys admin.
 */
import { SignJWT } from 'jose';
import t from 'tap';
import { signAccessToken, verifyAccessToken } from '../src/lib/jwt.js';
import { sha256 } from '../src/lib/crypto.js';
import { createApiKey, createEmployee, login, startTestApp, TEST_JWT_SECRET, tokenFor } from './helpers/harness.js';
import { waitFor } from './helpers/outbound.js';
import { startWorkers } from '../src/app/worker.js';
import { authFeature } from '../src/features/auth/auth-routes.js';

const ta = await startTestApp(t);
const PW = 'quiet-maple-orbit-77';
const key = new TextEncoder().encode(TEST_JWT_SECRET);

t.test('portals: right portal signs in; distinct refusals', async (t) => {
  const emp = await createEmployee(ta.db, { password: PW });
  const coord = await createEmployee(ta.db, { role: 'Ticket Coordinator', password: PW });
  const ok = await ta.api.post('/api/token/employee/', { email: emp.email.toUpperCase(), password: PW });
  t.equal(ok.status, 200);
  t.match(ok.body, { token_type: 'Bearer', expires_in: 900, user: { id: emp.id, role: 'Employee' } });
  t.ok((await ta.db('employees').where({ id: emp.id }).first()).last_login_at, 'last login recorded');
  t.equal((await ta.api.post('/api/token/admin/', { email: coord.email, password: PW })).status, 200);

  const wrongPortal = await ta.api.post('/api/token/admin/', { email: emp.email, password: PW });
  t.equal(wrongPortal.status, 403);
  t.equal(wrongPortal.body.code, 'wrong_portal');
  t.equal((await ta.api.post('/api/token/employee/', { email: coord.email, password: PW })).body.code, 'wrong_portal');

  const wrongPw = await ta.api.post('/api/token/employee/', { email: emp.email, password: PW + 'x' });
  const unknown = await ta.api.post('/api/token/employee/', { email: `nobody${Date.now()}@example.com`, password: PW });
  t.equal(wrongPw.status, 401);
  t.equal(unknown.status, 401);
  t.equal(wrongPw.body.code, unknown.body.code);
  t.equal(wrongPw.body.detail, unknown.body.detail);

  const pending = await createEmployee(ta.db, { status: 'Pending', password: PW });
  const p = await ta.api.post('/api/token/employee/', { email: pending.email, password: PW });
  t.equal(p.status, 403);
  t.equal(p.body.code, 'account_pending');
  const rejected = await createEmployee(ta.db, { status: 'Rejected', password: PW });
  t.equal((await ta.api.post('/api/token/employee/', { email: rejected.email, password: PW })).body.code, 'account_rejected');
  const pendingWrong = await ta.api.post('/api/token/employee/', { email: pending.email, password: 'wrong-password-1' });
  t.equal(pendingWrong.status, 401, 'status is only revealed with the right password');
});

t.test('JWT negative cases', async (t) => {
  const emp = await createEmployee(ta.db, { password: PW });
  const s = await login(ta, emp.email, PW);
  t.equal((await ta.api.get('/api/employee/profile/', { token: s.access })).status, 200);
  const now = Math.floor(Date.now() / 1000);
  const base = () => new SignJWT({ role: 'Employee' }).setSubject(String(emp.id)).setIssuer(ta.config.jwtIssuer).setAudience(ta.config.jwtAudience).setIssuedAt(now).setNotBefore(now).setExpirationTime(now + 600);
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const cases: Record<string, string> = {
    'alg none': `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64({ sub: String(emp.id), role: 'System Admin', iss: ta.config.jwtIssuer, aud: ta.config.jwtAudience, iat: now, nbf: now, exp: now + 600 })}.`,
    'wrong key': await base().setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' }).sign(new TextEncoder().encode('another-secret-another-secret-another-secret')),
    expired: await signAccessToken(ta.app.jwt, { sub: String(emp.id), role: 'Employee' }, now - 3600),
    'not yet valid': await base().setNotBefore(now + 600).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' }).sign(key),
    'wrong typ': await base().setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(key),
    'wrong audience': await base().setAudience('someone-else').setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' }).sign(key),
    'wrong issuer': await base().setIssuer('evil').setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' }).sign(key),
    'HS512 instead of HS256': await base().setProtectedHeader({ alg: 'HS512', typ: 'at+jwt' }).sign(key),
    'refresh token as access token': s.refresh,
  };
  for (const [name, token] of Object.entries(cases)) {
    const r = await ta.api.get('/api/employee/profile/', { token });
    t.equal(r.status, 401, name);
  }
  t.equal((await ta.api.get('/api/employee/profile/', { token: cases.expired })).body.code, 'token_expired');
  const accessAsRefresh = await ta.api.post('/api/token/refresh/', { refresh: s.access });
  t.equal(accessAsRefresh.status, 401, 'access token as refresh token');
  t.equal(accessAsRefresh.body.code, 'invalid_refresh_token');
});

t.test('a verified token is remembered only until it expires, and only in its exact form', async (t) => {
  const settings = { ...ta.app.jwt, accessTtlSeconds: 60 };
  const now = Math.floor(Date.now() / 1000);
  const token = await signAccessToken(settings, { sub: '42', role: 'Employee' }, now);
  const first = await verifyAccessToken(settings, token, now + 1);
  t.match(first, { ok: true, claims: { sub: '42', role: 'Employee', exp: now + 60 } });
  t.same(await verifyAccessToken(settings, token, now + 2), first, 'the same answer the second time');
  // the signature's FIRST character changed (the last one carries two unused bits, so changing it
  // can decode to the very same signature): not the token that was verified
  const sig = token.lastIndexOf('.') + 1;
  const tampered = `${token.slice(0, sig)}${token[sig] === 'A' ? 'B' : 'A'}${token.slice(sig + 1)}`;
  t.same(await verifyAccessToken(settings, tampered, now + 2), { ok: false, reason: 'invalid' }, 'a tampered copy of a verified token');
  t.same(await verifyAccessToken({ ...settings, audience: 'elsewhere' }, token, now + 2), { ok: false, reason: 'invalid' }, 'another audience does not share what was verified');
  t.same(await verifyAccessToken(settings, token, now + 60), { ok: false, reason: 'expired' }, 'expired at exp, although verified before');
  t.same(await verifyAccessToken(settings, token, now + 3), first, 'still good before exp');
});

t.test('refresh rotates; reuse revokes the family and its access tokens', async (t) => {
  const emp = await createEmployee(ta.db, { password: PW });
  const s1 = await login(ta, emp.email, PW);
  const r1 = await ta.api.post('/api/token/refresh/', { refresh: s1.refresh });
  t.equal(r1.status, 200);
  t.not(r1.body.refresh, s1.refresh);
  t.equal((await ta.api.get('/api/employee/profile/', { token: r1.body.access })).status, 200);
  const r2 = await ta.api.post('/api/token/refresh/', { refresh: r1.body.refresh });
  t.equal(r2.status, 200);

  const reuse = await ta.api.post('/api/token/refresh/', { refresh: s1.refresh });
  t.equal(reuse.status, 401);
  t.equal(reuse.body.code, 'refresh_token_reused');
  t.equal((await ta.api.post('/api/token/refresh/', { refresh: r2.body.refresh })).status, 401, 'the newest token of the family is dead too');
  const cut = await ta.api.get('/api/employee/profile/', { token: r2.body.access });
  t.equal(cut.status, 401, 'access tokens of the family stop working');
  t.equal(cut.body.code, 'session_revoked');

  const other = await login(ta, emp.email, PW);
  t.equal((await ta.api.get('/api/employee/profile/', { token: other.access })).status, 200, 'other sessions are unaffected');
  t.equal((await ta.api.post('/api/token/refresh/', { refresh: 'ssr_unknown' })).status, 401);
});

t.test('two concurrent refreshes of one token: at most one succeeds', async (t) => {
  const emp = await createEmployee(ta.db, { password: PW });
  for (let i = 0; i < 5; i++) {
    const s = await login(ta, emp.email, PW);
    const results = await Promise.all([1, 2, 3].map(() => ta.api.post('/api/token/refresh/', { refresh: s.refresh })));
    // the row lock serializes them: one rotates, the others present a used token (reuse → 401)
    t.same(results.map((r) => r.status).sort(), [200, 401, 401], `round ${i}: exactly one succeeds, the others are refused`);
    const fresh = await ta.db('refresh_tokens').join('auth_sessions', 'auth_sessions.id', 'refresh_tokens.session_id').where({ 'auth_sessions.employee_id': emp.id }).whereNull('refresh_tokens.used_at').whereNull('auth_sessions.revoked_at').count('* as c');
    t.ok(Number(fresh[0].c) <= i + 1, 'no family forked into two live tokens');
  }
});

t.test('absolute lifetime: an expired session cannot refresh and its access tokens stop', async (t) => {
  const emp = await createEmployee(ta.db, { password: PW });
  const s = await login(ta, emp.email, PW);
  await ta.db('auth_sessions').where({ employee_id: emp.id }).update({ expires_at: ta.db.raw("now() - interval '1 second'") });
  const r = await ta.api.post('/api/token/refresh/', { refresh: s.refresh });
  t.equal(r.status, 401);
  t.equal(r.body.code, 'session_expired');
  t.equal((await ta.api.get('/api/employee/profile/', { token: s.access })).status, 401);
});

t.test('a role change signs the person out (tokens carry the role)', async (t) => {
  const emp = await createEmployee(ta.db, { password: PW });
  const s = await login(ta, emp.email, PW);
  const admin = await createEmployee(ta.db, { role: 'System Admin' });
  t.equal((await ta.api.patch(`/api/employees/${emp.id}/`, { role: 'Ticket Coordinator' }, { token: await tokenFor(ta.app, admin) })).status, 200);
  t.equal((await ta.api.get('/api/employee/profile/', { token: s.access })).status, 401);
  t.equal((await ta.api.post('/api/token/refresh/', { refresh: s.refresh })).status, 401);
  t.equal((await login(ta, emp.email, PW)).user.role, 'Ticket Coordinator');
});

t.test('logout revokes the family', async (t) => {
  const emp = await createEmployee(ta.db, { password: PW });
  const s = await login(ta, emp.email, PW);
  t.equal((await ta.api.post('/api/token/logout/', undefined, { token: s.access })).status, 204);
  t.equal((await ta.api.get('/api/employee/profile/', { token: s.access })).status, 401);
  t.equal((await ta.api.post('/api/token/refresh/', { refresh: s.refresh })).status, 401);
});

t.test('change password: needs the current one, applies the rules, revokes other sessions', async (t) => {
  const emp = await createEmployee(ta.db, { password: PW });
  const mine = await login(ta, emp.email, PW);
  const other = await login(ta, emp.email, PW);
  const wrong = await ta.api.post('/api/employee/change-password/', { current_password: 'nope-nope-nope', new_password: 'fresh-violet-canyon-9' }, { token: mine.access });
  t.equal(wrong.status, 422);
  t.equal(wrong.body.code, 'wrong_password');
  t.equal((await ta.api.post('/api/employee/change-password/', { current_password: PW, new_password: 'password123' }, { token: mine.access })).status, 422, 'common password refused');
  t.equal((await ta.api.post('/api/employee/change-password/', { current_password: PW, new_password: 'fresh-violet-canyon-9' }, { token: mine.access })).status, 204);
  t.equal((await ta.api.get('/api/employee/profile/', { token: mine.access })).status, 200, 'this session stays');
  t.equal((await ta.api.get('/api/employee/profile/', { token: other.access })).status, 401, 'other sessions are revoked');
  t.equal((await ta.api.post('/api/token/employee/', { email: emp.email, password: PW })).status, 401);
  t.equal((await ta.api.post('/api/token/employee/', { email: emp.email, password: 'fresh-violet-canyon-9' })).status, 200);
  const apiKey = await createApiKey(ta.db, { role: 'Employee', scopes: ['tickets:read'] });
  t.equal((await ta.api.post('/api/employee/change-password/', { current_password: PW, new_password: 'x-y-z-w-v-u' }, { apiKey: apiKey.key })).status, 403);
});

t.test('forgot/reset: same answer for everyone, single-use token, expiry, sessions revoked', async (t) => {
  const emp = await createEmployee(ta.db, { password: PW });
  const s = await login(ta, emp.email, PW);
  const known = await ta.api.post('/api/employee/forgot-password/', { email: emp.email });
  const unknown = await ta.api.post('/api/employee/forgot-password/', { email: `ghost${Date.now()}@example.com` });
  t.equal(known.status, 202);
  t.equal(unknown.status, 202);
  t.same(known.body, unknown.body);
  // the link is made by a job (the same request work whether or not the account exists); only the
  // auth feature's worker runs here, so the email stays queued with its link readable
  await startWorkers(ta.app, [authFeature]);
  const mail = await waitFor(async () => ta.db('notifications').where({ recipient: emp.email, template: 'password_reset' }).first(), 'reset mail');
  t.equal(mail.data.expires_minutes, 60);
  const token = new URL(mail.data.reset_url).searchParams.get('token')!;
  const stored = await ta.db('password_reset_tokens').where({ employee_id: emp.id }).first();
  t.equal(stored.token_hash, sha256(token), 'stored as its sha256');

  t.equal((await ta.api.post('/api/employee/reset-password/', { token, new_password: 'short' })).status, 422);
  t.equal((await ta.api.post('/api/employee/reset-password/', { token, new_password: 'new-river-stone-31' })).status, 204);
  const again = await ta.api.post('/api/employee/reset-password/', { token, new_password: 'other-river-stone-32' });
  t.equal(again.status, 400);
  t.equal(again.body.code, 'invalid_reset_token');
  t.equal((await ta.api.get('/api/employee/profile/', { token: s.access })).status, 401, 'sessions revoked by the reset');
  t.equal((await ta.api.post('/api/token/employee/', { email: emp.email, password: 'new-river-stone-31' })).status, 200);

  await ta.api.post('/api/employee/forgot-password/', { email: emp.email });
  const mail2 = await waitFor(async () => ta.db('notifications').where({ recipient: emp.email, template: 'password_reset' }).whereNot({ id: mail.id }).orderBy('id', 'desc').first(), 'second reset mail');
  const token2 = new URL(mail2.data.reset_url).searchParams.get('token')!;
  await ta.db('password_reset_tokens').where({ employee_id: emp.id }).whereNull('used_at').update({ expires_at: ta.db.raw("now() - interval '1 second'") });
  t.equal((await ta.api.post('/api/employee/reset-password/', { token: token2, new_password: 'late-river-stone-33' })).status, 400, 'expired');

  const pending = await createEmployee(ta.db, { status: 'Pending', password: PW });
  await ta.api.post('/api/employee/forgot-password/', { email: pending.email });
  await waitFor(async () => Number((await ta.db.raw(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'auth.password_forgot' AND state NOT IN ('completed', 'failed', 'cancelled')`)).rows[0].n) === 0, 'forgot jobs done');
  t.notOk(await ta.db('notifications').where({ recipient: pending.email, template: 'password_reset' }).first(), 'no link for accounts that cannot sign in');
});

t.test('purgeExpired removes expired sessions and used reset tokens', async (t) => {
  const { purgeExpired } = await import('../src/features/auth/auth-store.js');
  const before = Number((await ta.db('password_reset_tokens').whereNotNull('used_at').count('* as c'))[0].c);
  t.ok(before > 0);
  const r = await purgeExpired(ta.db);
  t.ok(r.reset_tokens >= before);
  t.ok(r.sessions >= 1, 'the expired session from the lifetime test');
  t.equal(Number((await ta.db('auth_sessions').where('expires_at', '<', ta.db.fn.now()).count('* as c'))[0].c), 0);
});

t.test('failed logins are throttled per account (429 with Retry-After, even with the right password)', async (t) => {
  const emp = await createEmployee(ta.db, { password: PW });
  for (let i = 0; i < 5; i++) t.equal((await ta.api.post('/api/token/employee/', { email: emp.email, password: `wrong-${i}-password` })).status, 401);
  const blocked = await ta.api.post('/api/token/employee/', { email: emp.email, password: PW });
  t.equal(blocked.status, 429);
  t.equal(blocked.body.code, 'rate_limited');
  t.ok(Number(blocked.headers.get('retry-after')) > 0);
  const other = await createEmployee(ta.db, { password: PW });
  t.equal((await ta.api.post('/api/token/employee/', { email: other.email, password: PW })).status, 200, 'other accounts are not affected');
});

t.test('failed logins are throttled per IP across accounts', async (t) => {
  let last = 0;
  for (let i = 0; i < 40 && last !== 429; i++) {
    last = (await ta.api.post('/api/token/employee/', { email: `spray${i}@example.com`, password: 'wrong-password-x' })).status;
  }
  t.equal(last, 429);
  await ta.db('rate_limits').where('key', 'like', 'login_%').delete();
});

t.test('API keys admin: secret once, hashed, prefix, scopes, expiry, revoke, last use', async (t) => {
  const admin = await createEmployee(ta.db, { role: 'System Admin', password: PW });
  const { access } = await login(ta, admin.email, PW);
  const created = await ta.api.post('/api/admin/api-keys/', { name: 'cron', role: 'Ticket Coordinator', scopes: ['employees:read'] }, { token: access });
  t.equal(created.status, 201);
  t.match(created.body.key, /^ssk_/);
  t.equal(created.body.prefix, created.body.key.slice(0, 12));
  const row = await ta.db('api_keys').where({ id: created.body.id }).first();
  t.equal(row.key_hash, sha256(created.body.key), 'stored as its sha256');
  t.equal(row.created_by, admin.id);
  const listed = await ta.api.get('/api/admin/api-keys/', { token: access });
  const item = listed.body.data.find((k: { id: number }) => k.id === created.body.id);
  t.notOk('key' in item, 'no secret in lists');
  t.equal(item.last_used_at, null);

  t.equal((await ta.api.get('/api/employees/', { apiKey: created.body.key })).status, 200, 'scope granted');
  t.equal((await ta.api.post('/api/employees/1/approve/', undefined, { apiKey: created.body.key })).status, 403, 'scope not granted');
  const used = (await ta.api.get('/api/admin/api-keys/', { token: access })).body.data.find((k: { id: number }) => k.id === created.body.id);
  t.ok(used.last_used_at, 'last use recorded');
  t.equal((await ta.api.get('/api/admin/api-keys/', { apiKey: created.body.key })).status, 403, 'keys cannot manage keys');

  t.equal((await ta.api.delete(`/api/admin/api-keys/${created.body.id}/`, { token: access })).status, 204);
  t.equal((await ta.api.get('/api/employees/', { apiKey: created.body.key })).status, 401, 'revoked');
  t.equal((await ta.api.delete('/api/admin/api-keys/99999/', { token: access })).status, 404);
  const withRevoked = await ta.api.get('/api/admin/api-keys/', { token: access, query: { include_revoked: 'true' } });
  t.ok(withRevoked.body.data.some((k: { id: number; revoked_at: string | null }) => k.id === created.body.id && k.revoked_at));

  const past = await ta.api.post('/api/admin/api-keys/', { name: 'old', role: 'Employee', expires_at: '2001-01-01T00:00:00Z' }, { token: access });
  t.equal(past.status, 422);
  const soon = await ta.api.post('/api/admin/api-keys/', { name: 'soon', role: 'System Admin', scopes: ['employees:read'], expires_at: new Date(Date.now() + 3600_000).toISOString() }, { token: access });
  t.equal(soon.status, 201);
  await ta.db('api_keys').where({ id: soon.body.id }).update({ expires_at: ta.db.raw("now() - interval '1 second'") });
  t.equal((await ta.api.get('/api/employees/', { apiKey: soon.body.key })).status, 401, 'expired');
  const bad = await ta.api.post('/api/admin/api-keys/', { name: 'x', role: 'Employee', scopes: ['root'] }, { token: access });
  t.equal(bad.status, 400);
  const emp = await createEmployee(ta.db);
  t.equal((await ta.api.get('/api/admin/api-keys/', { token: await tokenFor(ta.app, emp) })).status, 403);
});
