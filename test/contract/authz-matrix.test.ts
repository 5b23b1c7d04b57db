/**
 * The authorization matrix: every operation in openapi.yaml is called as anonymous, the owning
 * employee, another employee, a Ticket Coordinator, a System Admin, an API key with the needed
 * scope and one without it, and the status must be what api.md's "Who can call what" says
 * (lib/access-table.ts — written from api.md, not read back from the spec's x-roles).
 *
 * - An operation in the spec that the table does not list fails; so does a row whose endpoint is
 *   not in the spec (renamed or removed).
 * - "allow" means a 2xx whose body matches openapi.yaml: every call is one the operation accepts
 *   (real fixtures, valid bodies, real multipart), and the rate limits are off, so only authorization
 *   can turn it into a 4xx. A refused caller must get exactly the status the table says.
 * - Every cell gets fresh people and a fresh fixture, so a successful call (a password change, a
 *   deleted ticket) never changes what the next caller sees. A fixture that cannot be made fails.
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { SCOPES, type Scope } from '../../src/http/auth.js';
import { compileResponseValidator, type Operation } from '../../src/http/openapi.js';
import { createApiKey, createEmployee, startTestApp, tokenFor, type EmployeeRow, type TestApp } from '../helpers/harness.js';
import { ACCESS, CALLERS, expected, type BodyVars, type Caller, type Expectation, type Rule } from './lib/access-table.js';
import { makeFixture, PASSWORD, type Fixture } from './lib/fixtures.js';
import { fillPath, multipartFrom, sampleQuery, send, type Sent } from './lib/request.js';
import { opKey, paramsOf, preferredBody, sampleBody, spec } from './lib/spec-tools.js';

const table = new Map<string, { key: string; rule: Rule }>();
for (const [k, rule] of Object.entries(ACCESS)) {
  for (const shape of [k, ...(rule.aliases ?? [])]) {
    const [method, p] = shape.split(' ');
    table.set(opKey(method, p), { key: k, rule });
  }
}

const ta: TestApp = await startTestApp(t, { env: { RATE_LIMIT_PER_MINUTE: '0', CHAT_RATE_LIMIT_PER_MINUTE: '0' } });
const responses = compileResponseValidator(spec);

const keys = new Map<string, { id: number; key: string }>();
async function keyWith(scopes: string[]): Promise<{ id: number; key: string }> {
  const id = [...scopes].sort().join(',');
  if (!keys.has(id)) keys.set(id, await createApiKey(ta.db, { role: 'System Admin', scopes, name: `matrix ${id || 'no scopes'}` }));
  return keys.get(id)!;
}

const person = (role: EmployeeRow['role']) => createEmployee(ta.db, { role, password: PASSWORD });

/** The caller's credentials, with fresh people for this cell (the owner owns the cell's fixture). */
async function credentials(caller: Caller, rule: Rule, owner: EmployeeRow): Promise<{ token?: string; apiKey?: string }> {
  const asPerson = async (e: EmployeeRow) => ({ token: await tokenFor(ta.app, e) });
  switch (caller) {
    case 'anonymous':
      return {};
    case 'employee (owner)':
      return asPerson(owner);
    case 'employee (not owner)':
      return asPerson(await person('Employee'));
    case 'ticket coordinator':
      return asPerson(await person('Ticket Coordinator'));
    case 'system admin':
      return asPerson(await person('System Admin'));
    case 'api key with scope':
      // a person-only operation is refused even to a key holding every scope
      return { apiKey: (await keyWith(rule.scope ? [rule.scope] : [...SCOPES])).key };
    case 'api key without scope':
      return { apiKey: (await keyWith(SCOPES.filter((s: Scope) => s !== rule.scope))).key };
  }
}

/** Why the response contradicts the expectation, or undefined when it agrees. */
function verdict(op: Operation, exp: Expectation, r: Sent): string | undefined {
  const code = r.json?.code as string | undefined;
  const got = `${r.status}${code ? ` ${code}` : ''}`;
  if (exp === 'allow' ? r.status < 200 || r.status > 299 : r.status !== exp) return `got ${got}${r.status >= 400 && r.json?.detail ? ` (${r.json.detail})` : ''}`;
  const body = r.json ?? (r.text === '' ? undefined : r.text);
  const problems = responses(op.operationId)(r.status, r.type, body, r.headers);
  if (problems.length) return `${got} does not match openapi.yaml: ${problems.join('; ')}`;
  return undefined;
}

async function callAs(op: Operation, rule: Rule, caller: Caller): Promise<Sent> {
  const owner = await person('Employee');
  let fixture: Fixture | undefined;
  if (rule.object) {
    try {
      fixture = await makeFixture(ta, rule.object, { owner, ticketStatus: rule.ticketStatus });
    } catch (err) {
      throw new Error(`fixture "${rule.object}" for ${op.operationId} could not be created (test/contract/lib/fixtures.ts): ${(err as Error).message}`);
    }
  }
  const pathParams = paramsOf(op).filter((p) => p.in === 'path');
  const values: Record<string, string> = {};
  if (pathParams.length) {
    if (!fixture) throw new Error(`${op.operationId} has path parameters but its row names no fixture (object)`);
    // a value with slashes (a media path, queue/id) spreads over the template's parameters: last segments last
    const segs = fixture.param.split('/');
    pathParams.forEach((p, i) => {
      const last = i === pathParams.length - 1;
      values[p.name] = last ? segs.slice(i).join('/') : segs[i]!;
    });
  }
  const url = fillPath(op, values);
  const creds = await credentials(caller, rule, owner);
  const vars: BodyVars = { ...(fixture?.vars ?? {}), caller, owner_id: owner.id, password: PASSWORD, unique: randomBytes(5).toString('hex') };
  const bodyInfo = preferredBody(op);
  const custom = rule.body?.(vars);
  if (bodyInfo?.type === 'multipart/form-data') {
    return send(ta.url, op.method.toUpperCase(), url, { ...creds, raw: multipartFrom(bodyInfo.schema, (custom as Record<string, unknown>) ?? {}), query: sampleQuery(op) });
  }
  const body = custom ?? sampleBody(op)?.value;
  return send(ta.url, op.method.toUpperCase(), url, { ...creds, body: bodyInfo ? body ?? {} : undefined, contentType: bodyInfo?.type, query: sampleQuery(op) });
}

const specKeys = new Set(spec.operations.map((o) => opKey(o.method, o.path)));
for (const op of [...spec.operations].sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method))) {
  const entry = table.get(opKey(op.method, op.path));
  t.test(`${op.method.toUpperCase()} ${op.path} (${op.operationId})`, async (t) => {
    if (!entry) {
      t.fail(`${op.operationId} (${op.method.toUpperCase()} ${op.path}) is in openapi.yaml but not in the authorization matrix: add a row to test/contract/lib/access-table.ts`);
      return;
    }
    const grid: string[] = [];
    for (const caller of CALLERS) {
      const exp = expected(entry.rule, caller);
      const r = await callAs(op, entry.rule, caller);
      grid.push(`${caller}: ${r.status}`);
      const why = verdict(op, exp, r);
      const said = exp === 'allow' ? 'allowed (2xx)' : String(exp);
      if (why) t.fail(`${caller}: expected ${said}, ${why}`);
      else t.pass(`${caller}: ${said} (${r.status})`);
    }
    t.comment(grid.join(' | '));
  });
}

t.test('every row of the table is an operation in openapi.yaml', async (t) => {
  const stale = Object.entries(ACCESS)
    .filter(([k, rule]) => ![k, ...(rule.aliases ?? [])].some((shape) => specKeys.has(opKey(shape.split(' ')[0]!, shape.split(' ')[1]!))))
    .map(([k]) => k);
  t.same(stale, [], 'rows without an operation (renamed or removed in openapi.yaml?)');
});
