/**
 * openapi.yaml is fit to generate clients and docs from: every operation is named, summarised,
 * tagged, secured with known schemes/roles/scopes, documents its errors and its success body,
 * and every path follows the trailing-slash convention.
 */
import t from 'tap';
import { ROLES, SCOPES } from '../../src/http/auth.js';
import { resolve, spec, type Json } from './lib/spec-tools.js';

const NO_SLASH = [/^\/healthz$/, /^\/readyz$/, /^\/metrics$/, /^\/openapi\.[a-z]+$/, /^\/docs$/, /^\/media\/(\{[^}]+\}\/?)+$/];
const CAMEL_CASE = /^[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)*$/;

const schemes = new Set(Object.keys(spec.doc.components?.securitySchemes ?? {}));
const tagNames = new Set(((spec.doc.tags ?? []) as Json[]).map((x) => x.name));

t.test('the spec has operations', async (t) => {
  t.ok(spec.operations.length > 0);
});

t.test('operationIds are unique and camelCase', async (t) => {
  const seen = new Map<string, string>();
  for (const op of spec.operations) {
    const where = `${op.method.toUpperCase()} ${op.path}`;
    if (!op.operationId) {
      t.fail(`${where} has no operationId`);
      continue;
    }
    t.match(op.operationId, CAMEL_CASE, `${where}: operationId "${op.operationId}" is camelCase`);
    if (seen.has(op.operationId)) t.fail(`operationId ${op.operationId} is used by ${seen.get(op.operationId)} and ${where}`);
    seen.set(op.operationId, where);
  }
});

t.test('every operation is documented, secured and complete', async (t) => {
  for (const op of spec.operations) {
    const id = `${op.operationId} (${op.method.toUpperCase()} ${op.path})`;
    const raw = op.raw;
    t.ok(typeof raw.summary === 'string' && raw.summary.trim().length > 0, `${id} has a summary`);
    t.ok(Array.isArray(raw.tags) && raw.tags.length > 0, `${id} has tags`);
    for (const tag of raw.tags ?? []) t.ok(tagNames.has(tag), `${id}: tag "${tag}" is declared in the top-level tags`);

    const security = (raw.security ?? spec.doc.security) as Json[] | undefined;
    t.ok(Array.isArray(security), `${id} has a security requirement (own or global)`);
    for (const req of security ?? []) for (const name of Object.keys(req)) t.ok(schemes.has(name), `${id}: security scheme "${name}" is declared in components.securitySchemes`);

    const roles = raw['x-roles'];
    if (roles !== undefined) {
      t.ok(Array.isArray(roles) && roles.length > 0, `${id}: x-roles is a non-empty list`);
      for (const r of roles ?? []) t.ok((ROLES as readonly string[]).includes(r), `${id}: x-roles value "${r}" is one of ${ROLES.join(', ')}`);
      t.ok((security ?? []).length > 0, `${id}: x-roles on a public operation means nothing`);
    }
    const scope = raw['x-scope'];
    if (scope !== undefined) {
      t.ok((SCOPES as readonly string[]).includes(scope), `${id}: x-scope "${scope}" is one of ${SCOPES.join(', ')}`);
      t.ok((security ?? []).some((s) => 'apiKeyAuth' in s || 'apiKeyQuery' in s), `${id}: x-scope is set but API keys cannot call it`);
    }

    const responses = (raw.responses ?? {}) as Json;
    const codes = Object.keys(responses);
    // every answer is declared by its own code: generated clients type status codes, and orval
    // writes a range such as 4XX as a literal that does not compile
    t.same(codes.filter((c) => !/^\d{3}$/.test(c)), [], `${id} declares no status range or default`);
    const secured = (security ?? []).some((req) => Object.keys(req).length > 0);
    const expected = ['400', ...(secured ? ['401', '403'] : []), ...(raw.requestBody ? ['413', '415'] : []), ...(op.method === 'post' ? ['409', '422'] : [])];
    t.same(expected.filter((c) => !codes.includes(c)), [], `${id} declares the answers its pipeline can give`);
    for (const c of codes) {
      const headers = Object.keys(resolve(responses[c])?.headers ?? {});
      t.ok(headers.includes('X-Request-Id'), `${id} ${c} declares X-Request-Id`);
    }
    const errors = codes.filter((c) => /^4(\d\d|XX)$/.test(c) || c === 'default');
    t.ok(errors.length > 0, `${id} documents a 4XX (or specific 4xx) error response`);
    for (const c of errors) {
      const r = resolve(responses[c]);
      const content = Object.keys(r?.content ?? {});
      t.ok(content.includes('application/problem+json'), `${id} ${c} is application/problem+json`);
    }
    const success = codes.filter((c) => /^2(\d\d|XX)$/.test(c) || /^3\d\d$/.test(c));
    t.ok(success.length > 0, `${id} documents a success response`);
    for (const c of success) {
      if (c === '204' || /^3/.test(c)) continue;
      const r = resolve(responses[c]);
      const content = Object.entries<Json>(r?.content ?? {});
      t.ok(content.length > 0 && content.every(([, mt]) => mt.schema !== undefined), `${id} ${c} has a schema for each content type`);
    }
    if (op.method === 'post' || op.method === 'put' || op.method === 'patch') {
      if (raw.requestBody) {
        const rb = resolve(raw.requestBody);
        t.ok(Object.values<Json>(rb.content ?? {}).every((mt) => mt.schema !== undefined), `${id} request body has a schema`);
      }
    }
    for (const p of op.raw.parameters as Json[]) {
      const param = resolve(p);
      t.ok(param.schema !== undefined, `${id}: parameter ${param.name} has a schema`);
    }
  }
});

t.test('paths keep the trailing slash convention', async (t) => {
  for (const p of Object.keys(spec.doc.paths ?? {})) {
    if (NO_SLASH.some((re) => re.test(p))) {
      t.notOk(p.endsWith('/'), `${p} is one of the slash-less operational paths`);
    } else {
      t.ok(p.endsWith('/'), `${p} ends with a slash like the original API`);
    }
    t.notMatch(p, /\/\//, `${p} has no empty segment`);
  }
});

t.test('global security names declared schemes', async (t) => {
  for (const name of ['bearerAuth', 'apiKeyAuth']) t.ok(schemes.has(name), `${name} is declared`);
  for (const req of (spec.doc.security ?? []) as Json[]) for (const name of Object.keys(req)) t.ok(schemes.has(name), `global security scheme ${name} is declared`);
});

t.test('the checks catch bad specs', async (t) => {
  // a self-test of the matchers above, so a green run means something
  t.notMatch('GetThing', CAMEL_CASE);
  t.notMatch('get_thing', CAMEL_CASE);
  t.notMatch('list-tickets', CAMEL_CASE);
  t.match('listTickets', CAMEL_CASE);
  t.ok(NO_SLASH.some((re) => re.test('/media/{path}')));
  t.ok(NO_SLASH.some((re) => re.test('/media/{folder}/{file_name}')));
  t.notOk(NO_SLASH.some((re) => re.test('/api/tickets')));
});

t.test('the parsed spec the build caches is the YAML, and is used only for the text it was made from', async (t) => {
  const { mkdtemp, readFile, rm, writeFile } = await import('node:fs/promises');
  const os = await import('node:os');
  const path = await import('node:path');
  const YAML = (await import('yaml')).default;
  const { loadSpec, writeSpecCache, SPEC_CACHE_FILE } = await import('../../src/http/openapi.js');
  const { packageRoot } = await import('../../src/lib/paths.js');
  const yamlFile = path.join(packageRoot, 'openapi.yaml');
  const parsed = YAML.parse(await readFile(yamlFile, 'utf8'));

  // the build's cache (npm run build) is there and equals parsing the YAML
  const built = JSON.parse(await readFile(SPEC_CACHE_FILE, 'utf8'));
  t.same(built.doc, parsed, 'dist/openapi.json holds exactly what the YAML parses to');
  t.same(loadSpec().doc, parsed, 'the spec every process loads is the YAML');

  const dir = await mkdtemp(path.join(os.tmpdir(), 'ss-spec-cache-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const text = 'openapi: 3.1.0\ninfo: {title: From the YAML, version: "1"}\npaths: {}\n';
  const file = path.join(dir, 'openapi.yaml');
  const cache = path.join(dir, 'openapi.json');
  await writeFile(file, text);

  // a cache of this very text is what is loaded (here told apart by a title the YAML does not have)
  writeSpecCache(file, cache);
  const made = JSON.parse(await readFile(cache, 'utf8'));
  t.same(made.doc, YAML.parse(text));
  await writeFile(cache, JSON.stringify({ ...made, doc: { ...made.doc, info: { title: 'From the cache', version: '1' } } }));
  t.equal(loadSpec(file, cache).doc.info.title, 'From the cache', 'a cache of the same text is used');

  // the text changed after the build: the YAML is parsed, the cache ignored
  await writeFile(file, text.replace('From the YAML', 'Edited after the build'));
  t.equal(loadSpec(file, cache).doc.info.title, 'Edited after the build', 'a cache of another text is never used');
  // no cache, or a broken one: the YAML
  await writeFile(cache, '{"sha256":');
  t.equal(loadSpec(file, cache).doc.info.title, 'Edited after the build', 'an unreadable cache is ignored');
  t.equal(loadSpec(file, path.join(dir, 'none.json')).doc.info.title, 'Edited after the build', 'a missing cache is ignored');

  // a value JSON cannot carry (YAML's .inf) is refused, so the cache never differs from the YAML
  await writeFile(file, 'openapi: 3.1.0\ninfo: {title: T, version: "1"}\nx-limit: .inf\npaths: {}\n');
  t.throws(() => writeSpecCache(file, path.join(dir, 'inf.json')), /JSON cannot represent/);
});

t.test('every operation\'s request validator compiles (the server compiles each on first use)', async (t) => {
  const { compileRequestValidators } = await import('../../src/http/openapi.js');
  const eager = compileRequestValidators(spec, { eager: true });
  t.equal(eager.size, spec.operations.length, 'one per operation, all compiled without an error');
  // the lazy ones answer as the eager ones do
  const lazy = compileRequestValidators(spec);
  const req = { params: { id: 'x' }, query: { limit: '0' }, body: undefined, contentType: undefined };
  t.same(lazy.get('getTicket')!(req), eager.get('getTicket')!(req), 'a lazily compiled validator gives the same verdict');
  t.equal(lazy.get('getTicket')!(req).ok, false, 'and it is a real verdict (a non-numeric id is refused)');
});
