/**
 * openapi.yaml is the contract: this module loads it once, lists its operations, and compiles
 * request validators (and, for tests, response validators) with ajv.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { sha256 } from '../lib/crypto.js';
import { packageRoot } from '../lib/paths.js';
import type { FieldError } from './errors.js';

// ajv-formats is CommonJS with a default export.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv2020) => void;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export interface Operation {
  operationId: string;
  method: HttpMethod;
  /** Path as written in the spec, e.g. `/api/tickets/{id}/`. */
  path: string;
  /** Security requirement scheme names; empty = public. */
  schemes: string[];
  /** `x-roles`: roles allowed to call it (undefined = any authenticated caller). */
  roles: string[] | undefined;
  /** `x-scope`: the scope an API key needs (undefined = API keys may not call it). */
  scope: string | undefined;
  /** Request body content types the spec accepts. */
  bodyTypes: string[];
  bodyRequired: boolean;
  raw: Json;
  /** JSON pointer to the operation inside the spec. */
  pointer: string;
}

export interface Spec {
  doc: Json;
  yamlText: string;
  operations: Operation[];
  byId: Map<string, Operation>;
}

const esc = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

let cached: Spec | undefined;

/**
 * The spec parsed at build time (`npm run build` → dist/openapi.json: the YAML's sha256 and the parsed
 * document). Parsing the YAML costs about half a second of CPU at every start of every process (server,
 * worker, test file); reading the JSON about 5 ms. The cache is used only for the very text it was made
 * from, so an openapi.yaml edited after the build is parsed afresh, never served stale.
 */
export const SPEC_CACHE_FILE = path.join(packageRoot, 'dist', 'openapi.json');

// the YAML parser is loaded only when the cache cannot be used (a build older than the text)
const parseYaml = (text: string): Json => (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text) as Json;

function parsedAtBuild(yamlText: string, cacheFile: string): Json | undefined {
  try {
    const cache = JSON.parse(readFileSync(cacheFile, 'utf8')) as { sha256?: string; doc?: Json };
    return cache.sha256 === sha256(yamlText) && cache.doc ? cache.doc : undefined;
  } catch {
    return undefined; // none (not built yet) or unreadable: parse the YAML
  }
}

/**
 * Build step: write the parsed spec and the sha256 of its text to `cacheFile`. Refuses (throws) a
 * document that JSON cannot carry unchanged, so the cache can never differ from parsing the YAML.
 */
export function writeSpecCache(file = path.join(packageRoot, 'openapi.yaml'), cacheFile = SPEC_CACHE_FILE): void {
  const yamlText = readFileSync(file, 'utf8');
  const doc = parseYaml(yamlText);
  const json = JSON.stringify({ sha256: sha256(yamlText), doc });
  if (!isDeepStrictEqual(JSON.parse(json).doc, doc)) throw new Error(`${file} holds values JSON cannot represent: no parsed-spec cache written`);
  writeFileSync(`${cacheFile}.tmp`, json);
  renameSync(`${cacheFile}.tmp`, cacheFile);
}

export function loadSpec(file = path.join(packageRoot, 'openapi.yaml'), cacheFile = SPEC_CACHE_FILE): Spec {
  const isDefault = file === path.join(packageRoot, 'openapi.yaml') && cacheFile === SPEC_CACHE_FILE;
  if (cached && isDefault) return cached;
  const yamlText = readFileSync(file, 'utf8');
  const doc = parsedAtBuild(yamlText, cacheFile) ?? parseYaml(yamlText);
  const operations: Operation[] = [];
  for (const [p, item] of Object.entries<Json>(doc.paths ?? {})) {
    for (const method of HTTP_METHODS) {
      const op = item[method] as Json | undefined;
      if (!op) continue;
      const security = (op.security ?? doc.security ?? []) as Json[];
      const content = (op.requestBody?.content ?? {}) as Json;
      operations.push({
        operationId: op.operationId,
        method,
        path: p,
        schemes: security.flatMap((s) => Object.keys(s)),
        roles: op['x-roles'],
        scope: op['x-scope'],
        bodyTypes: Object.keys(content),
        bodyRequired: Boolean(op.requestBody?.required),
        raw: { ...op, parameters: [...(item.parameters ?? []), ...(op.parameters ?? [])] },
        pointer: `#/paths/${esc(p)}/${method}`,
      });
    }
  }
  const spec: Spec = { doc, yamlText, operations, byId: new Map(operations.map((o) => [o.operationId, o])) };
  if (isDefault) cached = spec;
  return spec;
}

/** Resolve a local `$ref` chain (e.g. `#/components/parameters/Limit`); the contract tests use it too. */
export function deref(doc: Json, node: Json): Json {
  let cur = node;
  for (let i = 0; cur && typeof cur.$ref === 'string' && i < 10; i++) {
    const parts = (cur.$ref as string).replace(/^#\//, '').split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    cur = parts.reduce<Json>((acc, k) => acc?.[k], doc);
  }
  return cur;
}

/** Point local `$ref`s of a schema lifted out of the document at the document registered as `openapi.json`. */
export function rebaseRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rebaseRefs);
  if (node && typeof node === 'object') {
    return Object.fromEntries(
      Object.entries(node as Json).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' && v.startsWith('#') ? `openapi.json${v}` : rebaseRefs(v)]),
    );
  }
  return node;
}

/** The Ajv set-up every validation of the spec uses (requests, responses, the contract tests). */
export function makeAjv(doc: Json, coerce: boolean) {
  const ajv = new Ajv2020({
    strict: false,
    allErrors: true,
    coerceTypes: coerce ? 'array' : false,
    useDefaults: coerce,
    discriminator: true,
  });
  addFormats(ajv);
  ajv.addFormat('binary', true);
  ajv.addSchema(doc, 'openapi.json');
  return ajv;
}

function fieldErrors(where: string, errors: ErrorObject[] | null | undefined): FieldError[] {
  const out: FieldError[] = [];
  for (const e of errors ?? []) {
    if (e.keyword === 'if') continue;
    let field = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
    if (e.keyword === 'required') field = [field, (e.params as { missingProperty: string }).missingProperty].filter(Boolean).join('.');
    if (e.keyword === 'additionalProperties') {
      field = [field, (e.params as { additionalProperty: string }).additionalProperty].filter(Boolean).join('.');
      out.push({ field: `${where}${field}`, message: 'is not allowed' });
      continue;
    }
    const message =
      e.keyword === 'required' ? 'is required' : e.keyword === 'enum' ? `must be one of: ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}` : e.message ?? 'is invalid';
    out.push({ field: `${where}${field}`, message });
  }
  // one message per field is enough (anyOf/oneOf branches repeat themselves)
  const seen = new Set<string>();
  return out.filter((f) => (seen.has(f.field) ? false : (seen.add(f.field), true)));
}

export interface RequestParts {
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
  /** media type of the body without parameters, e.g. application/json */
  contentType: string | undefined;
}

export interface ValidatedRequest {
  params: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  query: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export type RequestValidator = (req: RequestParts) => { ok: true; value: ValidatedRequest } | { ok: false; errors: FieldError[] } | { ok: false; unsupported: true };

/**
 * One validator per operation: path and query parameters (coerced) and the body. `{ eager: true }`
 * (production, src/app/server.ts) compiles them all now: about half a second of CPU, most of it the
 * schemas operations share, which the first request would otherwise pay. Without it each is compiled
 * on its operation's first request, which saves that time in the many short-lived processes of
 * development and the tests. test/contract/spec.test.ts compiles all of them eagerly, so a schema ajv
 * cannot compile fails the tests, not a request.
 */
export function compileRequestValidators(spec: Spec, opts: { eager?: boolean } = {}): Map<string, RequestValidator> {
  let ajvs: { strict: Ajv2020; coercing: Ajv2020 } | undefined;
  const out = new Map<string, RequestValidator>();
  for (const op of spec.operations) {
    let compiled: RequestValidator | undefined;
    const validator: RequestValidator = (req) => (compiled ??= compileOne(op))(req);
    out.set(op.operationId, validator);
    if (opts.eager) compiled = compileOne(op);
  }
  return out;

  function compileOne(op: Operation): RequestValidator {
    ajvs ??= { strict: makeAjv(spec.doc, false), coercing: makeAjv(spec.doc, true) };
    const { strict: strictAjv, coercing: coercingAjv } = ajvs;
    const params = (op.raw.parameters as Json[]).map((p) => deref(spec.doc, p));
    const objectSchema = (where: 'path' | 'query') => {
      const ps = params.filter((p) => p.in === where);
      return {
        type: 'object',
        properties: Object.fromEntries(ps.map((p) => [p.name, rebaseRefs(p.schema ?? {})])),
        required: ps.filter((p) => p.required || where === 'path').map((p) => p.name),
        additionalProperties: where === 'path',
      };
    };
    const pathV = coercingAjv.compile(objectSchema('path'));
    const queryV = coercingAjv.compile(objectSchema('query'));
    const bodyVs = new Map<string, ValidateFunction>();
    for (const type of op.bodyTypes) {
      const pointer = `openapi.json${op.pointer}/requestBody/content/${esc(type)}/schema`;
      // multipart fields arrive as strings: coerce them like query parameters
      bodyVs.set(type, (type === 'multipart/form-data' ? coercingAjv : strictAjv).compile({ $ref: pointer }));
    }
    return (req) => {
      const errors: FieldError[] = [];
      const p = { ...req.params };
      if (!pathV(p)) errors.push(...fieldErrors('path.', pathV.errors));
      const q = { ...req.query };
      if (!queryV(q)) errors.push(...fieldErrors('query.', queryV.errors));
      let body = req.body;
      const hasBody = body !== undefined && !(typeof body === 'object' && body !== null && Object.keys(body).length === 0 && req.contentType === undefined);
      if (op.bodyTypes.length > 0 && hasBody) {
        const v = req.contentType ? bodyVs.get(req.contentType) : undefined;
        if (!v) return { ok: false, unsupported: true };
        if (req.contentType === 'multipart/form-data') body = { ...(body as Json) };
        if (!v(body)) errors.push(...fieldErrors('', v.errors));
      } else if (op.bodyRequired) {
        errors.push({ field: 'body', message: 'is required' });
      }
      if (errors.length) return { ok: false, errors };
      return { ok: true, value: { params: p, query: q, body } };
    };
  }
}

/** `headers`: the response's headers; every one of CONTRACT_HEADERS that is present must be declared. */
export type ResponseValidator = (status: number, contentType: string | undefined, body: unknown, headers?: Headers) => string[];

/** Response headers that are part of the contract: present on an answer ⇒ declared for it in openapi.yaml. */
export const CONTRACT_HEADERS = [
  'x-request-id',
  'cache-control',
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
  'retry-after',
  'idempotent-replayed',
  'location',
  'etag',
  'content-range',
  'deprecation',
  'sunset',
] as const;

/** For tests: validate a response against the spec; returns a list of problems (empty = valid). */
export function compileResponseValidator(spec: Spec): (operationId: string) => ResponseValidator {
  const ajv = makeAjv(spec.doc, false);
  const cache = new Map<string, ValidateFunction>();
  return (operationId) => (status, contentType, body, headers) => {
    const op = spec.byId.get(operationId);
    if (!op) return [`operation ${operationId} is not in the spec`];
    const responses = (op.raw.responses ?? {}) as Json;
    const key = String(status) in responses ? String(status) : `${String(status)[0]}XX` in responses ? `${String(status)[0]}XX` : 'default' in responses ? 'default' : undefined;
    if (!key) return [`${operationId}: status ${status} is not documented`];
    const resp = deref(spec.doc, responses[key]);
    if (headers) {
      const declared = new Set(Object.keys((resp.headers ?? {}) as Json).map((h) => h.toLowerCase()));
      const undeclared = CONTRACT_HEADERS.filter((h) => headers.has(h) && !declared.has(h));
      if (undeclared.length) return [`${operationId} ${status}: header(s) ${undeclared.join(', ')} sent but not declared`];
    }
    const content = (resp.content ?? {}) as Json;
    const types = Object.keys(content);
    if (types.length === 0) return body === undefined || body === '' ? [] : [`${operationId} ${status}: documented without a body but one was sent`];
    const mt = contentType?.split(';')[0].trim();
    const match = types.find((t) => t === mt) ?? types.find((t) => t.endsWith('/*') && mt?.startsWith(t.slice(0, -1)));
    if (!match) return [`${operationId} ${status}: content type ${mt} is not one of ${types.join(', ')}`];
    if (!/json/.test(match)) return [];
    const refBase = resp === responses[key] ? `${op.pointer}/responses/${key}` : (responses[key].$ref as string);
    const pointer = `openapi.json${refBase}/content/${esc(match)}/schema`;
    let v = cache.get(pointer);
    if (!v) {
      v = ajv.compile({ $ref: pointer });
      cache.set(pointer, v);
    }
    const validate = v;
    return validate(body) ? [] : (validate.errors ?? []).map((e) => `${operationId} ${status}: ${e.instancePath || '(body)'} ${e.message}`);
  };
}

/** Match a concrete request path against the spec's paths (used by tests and the route table). */
export function pathToRegExp(specPath: string): RegExp {
  const pattern = specPath
    .replace(/\/$/, '')
    .split('/')
    .map((seg) => (/^\{.+\}$/.test(seg) ? '[^/]+' : seg.replace(/[.*+?^$()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${pattern}/?$`);
}

export function matchOperation(spec: Spec, method: string, requestPath: string): Operation | undefined {
  const m = method.toLowerCase();
  const candidates = spec.operations.filter((o) => o.method === m && pathToRegExp(o.path).test(requestPath));
  // prefer the most literal path (/api/tickets/new/ over /api/tickets/{id}/)
  return candidates.sort((a, b) => (a.path.match(/\{/g)?.length ?? 0) - (b.path.match(/\{/g)?.length ?? 0))[0];
}
