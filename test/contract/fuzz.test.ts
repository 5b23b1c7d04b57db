/**
 * Property-based requests generated from openapi.yaml (fast-check), for every operation: path
 * parameters (valid and junk), query parameters (valid-ish, plus unknown ones), bodies (valid-ish,
 * invalid, not JSON, wrong content type), as a System Admin and anonymously. Whatever is sent:
 *   - never a 5xx;
 *   - every 4xx is application/problem+json matching the Problem schema (and its status);
 *   - no body leaks a stack trace, SQL or a file path.
 * Bounded: FUZZ_BUDGET requests in all (default 900) spread over the operations, at least
 * FUZZ_MIN_RUNS (default 6) each; FUZZ_SEED replays a run (the seed is printed).
 */
import fc from 'fast-check';
import t from 'tap';
import type { Operation } from '../../src/http/openapi.js';
import { signedIn, startTestApp } from '../helpers/harness.js';
import { send, type Sent } from './lib/request.js';
import { createApiKey } from '../helpers/harness.js';
import { SCOPES } from '../../src/http/auth.js';
import { fillPath as fillSample, multipartFrom } from './lib/request.js';
import { arbitraryFor, bodiesOf, invalidBodyArb, junkString, junkValue, paramsOf, poisonStrings, problemSchema, resolve, sampleBody, spec, validates, type Json } from './lib/spec-tools.js';

const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const budget = Number(process.env.FUZZ_BUDGET ?? 900);
const minRuns = Number(process.env.FUZZ_MIN_RUNS ?? 6);
const runsPerOp = Math.max(minRuns, Math.min(40, Math.floor(budget / Math.max(1, spec.operations.length))));
t.comment(`fuzz seed ${seed} (replay with FUZZ_SEED=${seed}); ${runsPerOp} runs per operation`);

/** Operations whose success body is a document, not data (not scanned for leaks on 2xx). */
const DOCUMENTS = new Set(['getOpenApiJson', 'getOpenApiYaml', 'getApiDocs', 'getMetrics']);

const LEAKS: [string, RegExp][] = [
  ['stack trace', /\bat\s+(?:async\s+)?[\w$.<>[\]]*\s*\(?(?:file:\/\/)?[^\s()]*:\d+:\d+\)?/],
  ['stack trace', /\n\s+at\s+/],
  ['SQL', /\b(?:SELECT|INSERT|UPDATE|DELETE)\s+(?:\*|INTO|FROM|\w+\s+SET|"?\w+"?\s*,|"?\w+"?\s+FROM)/],
  ['SQL error', /syntax error at|violates (?:foreign key|unique|not-null|check) constraint|relation "\w+"|column "\w+"|invalid input syntax for/i],
  ['file path', /(?:^|[\s"'(=])\/(?:home|usr|var|tmp|work|opt|root|srv|app|etc)\/[\w.-]+/],
  ['file path', /node_modules|[\w-]+\.(?:ts|js|mjs|cjs):\d+|[A-Za-z]:\\\\/],
];

const ta = await startTestApp(t);
const admin = await signedIn(ta, { role: 'System Admin' });

interface FuzzRequest {
  anonymous: boolean;
  path: Record<string, string>;
  query: Record<string, unknown>;
  body?: { kind: 'json'; value: unknown } | { kind: 'raw'; type: string; text: string };
}

function requestArb(op: Operation): fc.Arbitrary<FuzzRequest> {
  const params = paramsOf(op);
  const pathModel: Record<string, fc.Arbitrary<string>> = {};
  for (const p of params.filter((x) => x.in === 'path')) {
    pathModel[p.name] = fc.oneof({ weight: 2, arbitrary: arbitraryFor(p.schema).map((v) => String(v ?? '1')) }, { weight: 1, arbitrary: junkString.filter((s) => s.length > 0) });
  }
  const queryModel: Record<string, fc.Arbitrary<unknown>> = {};
  for (const p of params.filter((x) => x.in === 'query')) queryModel[p.name] = fc.oneof({ weight: 3, arbitrary: arbitraryFor(p.schema) }, { weight: 1, arbitrary: junkString });
  const query = fc
    .tuple(fc.record(queryModel, { requiredKeys: [] }), fc.option(fc.tuple(fc.constantFrom('limit', 'cursor', 'order', 'q', 'unknown_param', '__proto__'), junkString), { freq: 4 }))
    .map(([q, extra]) => (extra ? { ...q, [extra[0]]: extra[1] } : q))
    .map((q) => Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined && v !== null && typeof v !== 'object')));
  const bodies = bodiesOf(op);
  const bodyArb: fc.Arbitrary<FuzzRequest['body']> = bodies.length
    ? fc.oneof(
        { weight: 3, arbitrary: arbitraryFor(bodies.find((b) => b.type === 'application/json')?.schema ?? bodies[0].schema).map((value) => ({ kind: 'json' as const, value })) },
        { weight: 3, arbitrary: invalidBodyArb(bodies[0].schema).map((value) => ({ kind: 'json' as const, value })) },
        // NUL and lone surrogates in every string of an otherwise valid-ish body
        {
          weight: 2,
          arbitrary: fc
            .tuple(arbitraryFor(bodies.find((b) => b.type === 'application/json')?.schema ?? bodies[0].schema), fc.constantFrom('nul' as const, 'surrogate' as const))
            .map(([value, how]) => ({ kind: 'json' as const, value: poisonStrings(value, how) })),
        },
        {
          weight: 1,
          arbitrary: fc.record({
            kind: fc.constant('raw' as const),
            type: fc.constantFrom('application/json', 'text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream'),
            text: fc.oneof(fc.constantFrom('{', '{"a":', 'null', '[]', '"x"', '<a/>', 'a=1&b=2', '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--'), fc.string({ maxLength: 50 })),
          }),
        },
        { weight: 1, arbitrary: fc.constant(undefined) },
      )
    : fc.constant(undefined);
  return fc.record({ anonymous: fc.nat(3).map((n) => n === 0), path: fc.record(pathModel), query, body: bodyArb });
}

function fillPath(op: Operation, values: Record<string, string>): string {
  return op.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    try {
      return encodeURIComponent(values[name] ?? '1');
    } catch {
      // a lone surrogate has no UTF-8 form: send the bytes a careless client would (CESU-8 of U+D800)
      return `x%ED%A0%80`;
    }
  });
}

/** Strings we sent (echoing the caller's own input back is not a leak). */
function sentStrings(req: FuzzRequest): string[] {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === 'string') {
      out.push(v, JSON.stringify(v).slice(1, -1));
      // a lone surrogate cannot be percent-encoded (URIError)
      try {
        out.push(encodeURIComponent(v));
      } catch {
        /* not sendable in a URL anyway */
      }
    }
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) (walk(k), walk(x));
  };
  walk(req.path);
  walk(req.query);
  walk(req.body && req.body.kind === 'json' ? req.body.value : req.body?.text);
  return out.filter((s) => s.length >= 3).sort((a, b) => b.length - a.length);
}

function problemsWith(op: Operation, req: FuzzRequest, r: Sent): string[] {
  const out: string[] = [];
  if (r.status >= 500) out.push(`answered ${r.status}`);
  if (r.status >= 400) {
    if (!r.type.startsWith('application/problem+json')) out.push(`${r.status} is ${r.type || 'untyped'}, not application/problem+json`);
    else if (!validates(problemSchema, r.json)) out.push(`${r.status} body does not match the Problem schema`);
    else if (r.json.status !== r.status) out.push(`problem status ${r.json.status} differs from HTTP ${r.status}`);
  }
  if (r.status >= 400 || (!DOCUMENTS.has(op.operationId) && /json/.test(r.type))) {
    let text = r.text;
    for (const s of sentStrings(req)) text = text.split(s).join('');
    for (const [what, re] of LEAKS) {
      const m = re.exec(text);
      if (m) out.push(`body leaks a ${what}: …${text.slice(Math.max(0, m.index - 40), m.index + 60)}…`);
    }
  }
  return out;
}

const ops = [...spec.operations].sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
for (const [i, op] of ops.entries()) {
  t.test(`${op.method.toUpperCase()} ${op.path} (${op.operationId})`, async (t) => {
    let last: { req: FuzzRequest; r: Sent } | undefined;
    let firstProblem: string | undefined;
    try {
      await fc.assert(
        fc.asyncProperty(requestArb(op), async (req) => {
          const opts: Parameters<typeof send>[3] = { token: req.anonymous ? undefined : admin.token, query: req.query };
          if (req.body?.kind === 'json') opts.body = req.body.value ?? null;
          else if (req.body?.kind === 'raw') Object.assign(opts, { raw: req.body.text, contentType: req.body.type });
          const r = await send(ta.url, op.method.toUpperCase(), fillPath(op, req.path), opts);
          last = { req, r };
          const problems = problemsWith(op, req, r);
          if (problems.length) {
            const sentBody = req.body?.kind === 'raw' ? `${req.body.type} ${JSON.stringify(req.body.text)}` : JSON.stringify(req.body?.value);
            firstProblem ??= `${r.method} ${r.url.slice(0, 300)} (${req.anonymous ? 'anonymous' : 'admin'}; body ${String(sentBody).slice(0, 200)}) → ${r.status}: ${problems.join('; ')}`;
            throw new Error(problems.join('; '));
          }
        }),
        { numRuns: runsPerOp, seed: seed + i, endOnFailure: true },
      );
      t.pass(`${runsPerOp} generated requests: no 5xx, problem+json errors, no leaks`);
    } catch (err) {
      t.fail(`${firstProblem ?? (err as Error).message.split('\n')[0]} (replay: FUZZ_SEED=${seed})`, { response: last && last.r.text.slice(0, 400) });
    }
  });
}

/**
 * Deterministic complement (issue 13): for every operation, each string it takes — every property
 * of its body (JSON or multipart), every path and query parameter — is sent once with a NUL and
 * (where it can be sent: JSON bodies) once with a lone surrogate, the rest of the request valid.
 * The answer must be 400 `validation_failed` naming that field, never a 5xx — unless authorization
 * answers first (the caller is a System Admin, or an API key holding every scope where people are
 * refused).
 */
const allScopes = (await createApiKey(ta.db, { role: 'System Admin', scopes: [...SCOPES], name: 'fuzz all scopes' })).key;
const stringish = (schema: Json | undefined): boolean => {
  if (!schema) return false;
  const s = resolve(schema);
  const types: string[] = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  return types.includes('string') && s.format !== 'binary';
};
for (const op of ops) {
  t.test(`NUL / lone surrogate in every string of ${op.operationId}`, async (t) => {
    const people = op.schemes.includes('bearerAuth');
    const creds = people ? { token: admin.token } : { apiKey: allScopes };
    const body = sampleBody(op);
    const cases: { field: string; request: Parameters<typeof send>[3]; path: string; how: string }[] = [];
    const base = { ...creds } as Parameters<typeof send>[3] & object;
    for (const p of paramsOf(op)) {
      if (!stringish(p.schema) && p.in !== 'path') continue;
      if (p.in === 'path') {
        cases.push({ field: `path.${p.name}`, how: 'nul', path: fillSample(op, { [p.name]: 'x\u0000y' }), request: { ...base, body: body?.type === 'application/json' ? body.value : undefined } });
      } else if (p.in === 'query') {
        cases.push({ field: `query.${p.name}`, how: 'nul', path: fillSample(op), request: { ...base, query: { [p.name]: 'x\u0000y' }, body: body?.type === 'application/json' ? body.value : undefined } });
      }
    }
    if (body) {
      const schema = resolve(bodiesOf(op).find((b) => b.type === body.type)!.schema);
      for (const [name, ps] of Object.entries<Json>(schema.properties ?? {})) {
        if (!stringish(ps)) continue;
        if (body.type === 'application/json') {
          const valid = (body.value ?? {}) as Record<string, unknown>;
          const v = typeof valid[name] === 'string' ? (valid[name] as string) : 'x';
          for (const how of ['nul', 'surrogate'] as const) cases.push({ field: name, how, path: fillSample(op), request: { ...base, body: { ...valid, [name]: poisonStrings(v, how) } } });
        } else if (body.type === 'multipart/form-data') {
          cases.push({ field: name, how: 'nul', path: fillSample(op), request: { ...base, raw: multipartFrom(schema, { [name]: 'x\u0000y' }) } });
        }
      }
    }
    if (cases.length === 0) {
      t.pass('takes no strings');
      return;
    }
    for (const c of cases) {
      const r = await send(ta.url, op.method.toUpperCase(), c.path, c.request);
      t.ok(r.status < 500, `${c.field} (${c.how}): no 5xx (${r.status})`);
      if (r.status === 401 || r.status === 403 || r.status === 404 && c.field.startsWith('path.') && op.path.startsWith('/media')) continue;
      t.equal(r.status, 400, `${c.field} (${c.how}): 400, got ${r.status} ${r.json?.code ?? ''}`);
      t.equal(r.json?.code, 'validation_failed', `${c.field} (${c.how}): validation_failed`);
      t.ok((r.json?.errors ?? []).some((e: { field: string }) => e.field === c.field), `${c.field} (${c.how}): the error names the field (${JSON.stringify(r.json?.errors)})`);
    }
  });
}
