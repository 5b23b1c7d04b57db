/**
 * The authorization matrix: every operation in openapi.yaml is called as anonymous, the owning
 * employee, another employee, a Ticket Coordinator, a System Admin, an API key with the needed
 * scope and one without it, and the status must be what api.md's "Who can call what" says
 * (lib/access-table.ts — written from api.md, not read back from the spec's x-roles).
 *
 * - An operation in the spec that the table does not list fails the test: add it to the table.
 * - An endpoint api.md lists that is not in the spec yet is reported as pending (skipped).
 * - "allow" means authorization let the call through: no 401/403 (and no 404 for an object the
 *   caller may see), and never a 5xx. Bodies are minimal valid instances of the request schema, so
 *   validation does not decide the status.
 */
import t from 'tap';
import { SCOPES, type Scope } from '../../src/http/auth.js';
import type { Operation } from '../../src/http/openapi.js';
import { createApiKey, signedIn, type TestApp } from '../helpers/harness.js';
import { ACCESS, CALLERS, expected, type Caller, type Expectation, type Rule } from './lib/access-table.js';
import { makeFixture, Pending, type Fixture } from './lib/fixtures.js';
import { fillPath, multipartFrom, sampleQuery, send, type Sent } from './lib/request.js';
import { opKey, paramsOf, preferredBody, sampleBody, spec } from './lib/spec-tools.js';
import { startTestApp } from '../helpers/harness.js';

const table = new Map<string, { key: string; rule: Rule }>();
for (const [k, rule] of Object.entries(ACCESS)) {
  for (const shape of [k, ...(rule.aliases ?? [])]) {
    const [method, p] = shape.split(' ');
    table.set(opKey(method, p), { key: k, rule });
  }
}

const ta: TestApp = await startTestApp(t);
const owner = await signedIn(ta, { role: 'Employee' });
const other = await signedIn(ta, { role: 'Employee' });
const coordinator = await signedIn(ta, { role: 'Ticket Coordinator' });
const admin = await signedIn(ta, { role: 'System Admin' });

const keys = new Map<string, string>();
async function keyWith(scopes: string[]): Promise<string> {
  const id = [...scopes].sort().join(',');
  if (!keys.has(id)) keys.set(id, (await createApiKey(ta.db, { role: 'System Admin', scopes, name: `matrix ${id || 'no scopes'}` })).key);
  return keys.get(id)!;
}

async function credentials(caller: Caller, rule: Rule): Promise<{ token?: string; apiKey?: string }> {
  switch (caller) {
    case 'anonymous':
      return {};
    case 'employee (owner)':
      return { token: owner.token };
    case 'employee (not owner)':
      return { token: other.token };
    case 'ticket coordinator':
      return { token: coordinator.token };
    case 'system admin':
      return { token: admin.token };
    case 'api key with scope':
      // a person-only operation is refused even to a key holding every scope
      return { apiKey: await keyWith(typeof rule.scope === 'string' && rule.scope !== '?' ? [rule.scope] : [...SCOPES]) };
    case 'api key without scope':
      return { apiKey: await keyWith(SCOPES.filter((s: Scope) => s !== rule.scope)) };
  }
}

/** Why the response contradicts the expectation, or undefined when it agrees. */
function verdict(exp: Expectation, r: Sent, rule: Rule): string | undefined {
  const code = r.json?.code as string | undefined;
  if (r.status >= 500) return `server error ${r.status} ${code ?? ''}`;
  if (exp === 'open') return undefined;
  if (exp === 'allow') {
    if (r.status === 401 && !(rule.credentialsInBody && code !== 'unauthenticated')) return `denied with 401 ${code}`;
    if (r.status === 403 && !(rule.credentialsInBody && !['role_forbidden', 'api_key_not_allowed', 'insufficient_scope', 'api_key_required'].includes(code ?? ''))) return `denied with 403 ${code}`;
    if (rule.object && r.status === 404) return `hidden with 404 ${code}`;
    return undefined;
  }
  return r.status === exp ? undefined : `got ${r.status} ${code ?? ''}`.trim();
}

async function callAs(op: Operation, rule: Rule, caller: Caller): Promise<Sent | 'pending'> {
  let fixture: Fixture | undefined;
  if (rule.object) {
    try {
      fixture = await makeFixture(ta, rule.object, { owner: owner.user, ticketStatus: rule.ticketStatus });
    } catch (err) {
      if (err instanceof Pending) return 'pending';
      throw new Error(`fixture "${rule.object}" for ${op.operationId} could not be created (update test/contract/lib/fixtures.ts): ${(err as Error).message}`);
    }
  }
  const pathParams = paramsOf(op).filter((p) => p.in === 'path');
  const values: Record<string, string> = {};
  if (fixture && pathParams.length) {
    // a value with slashes (a media path) spreads over the template's parameters: last segments last
    const segs = fixture.param.split('/');
    pathParams.forEach((p, i) => {
      const last = i === pathParams.length - 1;
      values[p.name] = last ? segs.slice(i).join('/') : segs[i];
    });
  }
  const url = fillPath(op, values);
  const creds = await credentials(caller, rule);
  const bodyInfo = preferredBody(op);
  const custom = rule.body?.(fixture?.vars ?? {});
  if (bodyInfo?.type === 'multipart/form-data') {
    return send(ta.url, op.method.toUpperCase(), url, { ...creds, raw: multipartFrom(bodyInfo.schema, (custom as Record<string, unknown>) ?? {}), query: sampleQuery(op) });
  }
  const body = custom ?? sampleBody(op)?.value;
  return send(ta.url, op.method.toUpperCase(), url, { ...creds, body: bodyInfo ? body ?? {} : undefined, contentType: bodyInfo?.type, query: sampleQuery(op) });
}

const listed = new Set<string>();
for (const op of [...spec.operations].sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method))) {
  const k = opKey(op.method, op.path);
  const entry = table.get(k);
  t.test(`${op.method.toUpperCase()} ${op.path} (${op.operationId})`, async (t) => {
    if (!entry) {
      t.fail(`${op.operationId} (${op.method.toUpperCase()} ${op.path}) is in openapi.yaml but not in the authorization matrix: add a row from api.md to test/contract/lib/access-table.ts`);
      return;
    }
    listed.add(k);
    const grid: string[] = [];
    for (const caller of CALLERS) {
      const exp = expected(entry.rule, caller);
      const r = await callAs(op, entry.rule, caller);
      if (r === 'pending') {
        t.skip(`pending: the "${entry.rule.object}" fixture's table does not exist on this branch yet`, () => {});
        return;
      }
      grid.push(`${caller}: ${r.status}${exp === 'open' ? ' (open)' : ''}`);
      const why = verdict(exp, r, entry.rule);
      if (why) t.fail(`${caller}: api.md says ${exp === 'allow' ? 'allowed' : exp}, ${why}`);
      else t.pass(`${caller}: ${exp === 'allow' ? 'allowed' : exp} (${r.status})`);
    }
    t.comment(grid.join(' | '));
  });
}

t.test('api.md endpoints that are not in openapi.yaml yet (pending)', async (t) => {
  const specKeys = new Set(spec.operations.map((o) => opKey(o.method, o.path)));
  const covered = new Set([...table.entries()].filter(([k]) => specKeys.has(k)).map(([, v]) => v.key));
  const pending = Object.keys(ACCESS).filter((k) => !covered.has(k));
  for (const key of pending) t.skip(`pending: ${key}`, () => {});
  t.comment(`${covered.size} of ${Object.keys(ACCESS).length} api.md endpoints are in the spec; ${pending.length} pending`);
  t.pass('listed');
});
