/**
 * Reading openapi.yaml for the contract tests: resolving $refs, a minimal valid instance of a
 * schema (so authorization, not validation, decides a status), fast-check arbitraries from
 * schemas (valid-ish and invalid), and the request parts of an operation.
 */
import type { ValidateFunction } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { deref, loadSpec, makeAjv, rebaseRefs, type Operation, type Spec } from '../../../src/http/openapi.js';

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
export type Schema = Json | boolean;

export const spec: Spec = loadSpec();

/** Resolve a local `$ref` chain (e.g. `#/components/parameters/Limit`): the server's own resolution. */
export function resolve<T = Json>(node: Json | undefined, doc: Json = spec.doc): T {
  return (node === undefined ? undefined : deref(doc, node)) as T;
}

// the server's Ajv set-up (no coercion: a value must already have the schema's type)
const ajv = makeAjv(spec.doc, false);
const compiled = new Map<Schema, ValidateFunction>();

/** Validate a value against a schema fragment of openapi.yaml ($refs resolve inside the spec). */
export function validates(schema: Schema, value: unknown): boolean {
  let v = compiled.get(schema);
  if (!v) {
    v = ajv.compile(typeof schema === 'boolean' ? schema : { $id: `frag${compiled.size}`, ...(rebaseRefs(schema) as Json) });
    compiled.set(schema, v);
  }
  return v(value) as boolean;
}

export const problemSchema: Json = { $ref: '#/components/schemas/Problem' };

// ─── operation parts ─────────────────────────────────────────────────────────

export interface Param {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  schema: Json;
}

export function paramsOf(op: Operation): Param[] {
  return (op.raw.parameters as Json[]).map((p) => resolve(p)).map((p) => ({ name: p.name, in: p.in, required: Boolean(p.required || p.in === 'path'), schema: resolve(p.schema ?? {}) }));
}

export interface BodyInfo {
  type: string;
  schema: Json;
  example?: unknown;
}

export function bodiesOf(op: Operation): BodyInfo[] {
  const rb = resolve(op.raw.requestBody);
  return Object.entries<Json>(rb?.content ?? {}).map(([type, mt]) => ({
    type,
    schema: mt.schema ?? {},
    example: mt.example ?? (mt.examples ? resolve(Object.values<Json>(mt.examples)[0])?.value : undefined),
  }));
}

/** The body the matrix and the client send: JSON when the operation takes it, else the first type. */
export function preferredBody(op: Operation): BodyInfo | undefined {
  const all = bodiesOf(op);
  return all.find((b) => b.type === 'application/json') ?? all[0];
}

/** Normalised `METHOD /path/{}/` key, independent of path parameter names. */
export const opKey = (method: string, p: string) => `${method.toUpperCase()} ${p.replace(/\{[^}]+\}/g, '{}')}`;

// ─── minimal valid instances ─────────────────────────────────────────────────

const STRING_CANDIDATES = ['1', 'TX0001', 'MA0001', 'a', 'New', 'example', 'Passw0rd!Long-enough', 'x'.repeat(8)];

function formatValue(format: string | undefined): string | undefined {
  switch (format) {
    case 'email':
      return `sample.${Math.random().toString(36).slice(2, 8)}@example.com`;
    case 'date-time':
      return new Date(Date.now() + 86_400_000).toISOString();
    case 'date':
      return new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    case 'uuid':
      return '6f1c2a7e-1d0b-4a53-9d8e-2b7f3c1a9e10';
    case 'uri':
    case 'url':
      return 'https://example.com/';
    case 'password':
      return 'Correct-Horse-Battery-9';
    case 'binary':
      return 'file';
    default:
      return undefined;
  }
}

/**
 * A small instance that satisfies `schema` (required properties only), or undefined when none was
 * found. Examples and defaults in the spec win; generated values are checked with ajv.
 */
export function sample(schema: Schema | undefined, depth = 0): unknown {
  if (schema === undefined || schema === true) return 'x';
  if (schema === false || depth > 8) return undefined;
  const s = resolve(schema as Json);
  const ok = (v: unknown) => v !== undefined && validates(s, v);
  for (const candidate of [s.const, s.default, s.example, ...(Array.isArray(s.examples) ? s.examples : [])]) if (ok(candidate)) return candidate;
  if (s.allOf) {
    const merged: Json = {};
    for (const part of s.allOf as Json[]) {
      const v = sample(part, depth + 1);
      if (v && typeof v === 'object') Object.assign(merged, v);
    }
    if (ok(merged)) return merged;
  }
  for (const alt of [...((s.oneOf as Json[]) ?? []), ...((s.anyOf as Json[]) ?? [])]) {
    const v = sample({ ...s, oneOf: undefined, anyOf: undefined, ...resolve<Json>(alt) }, depth + 1);
    if (ok(v)) return v;
  }
  if (Array.isArray(s.enum) && s.enum.length) return s.enum.find((e: unknown) => e !== null) ?? s.enum[0];
  const types: string[] = Array.isArray(s.type) ? s.type : s.type ? [s.type] : s.properties ? ['object'] : ['string'];
  for (const type of types.filter((t) => t !== 'null')) {
    let v: unknown;
    if (type === 'object') {
      const o: Json = {};
      for (const name of (s.required as string[]) ?? []) o[name] = sample(s.properties?.[name] ?? true, depth + 1);
      v = o;
    } else if (type === 'array') {
      const n = Math.max(1, s.minItems ?? 0);
      v = Array.from({ length: n }, () => sample(s.items ?? true, depth + 1));
      if (!ok(v) && !s.minItems) v = [];
    } else if (type === 'integer' || type === 'number') {
      const min = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : 1);
      v = Math.max(min, Math.min(1, s.maximum ?? 1));
    } else if (type === 'boolean') {
      v = false;
    } else if (type === 'string') {
      const min = s.minLength ?? 0;
      const fromFormat = formatValue(s.format);
      const pool = [fromFormat, ...STRING_CANDIDATES].filter((x): x is string => x !== undefined);
      v = pool.find((c) => ok(c)) ?? (min > 0 ? 'x'.repeat(Math.max(min, 1)) : 'x');
      if (!ok(v) && s.pattern) {
        try {
          v = fc.sample(fc.stringMatching(new RegExp(s.pattern)), { numRuns: 20, seed: 1 }).find((c) => ok(c)) ?? v;
        } catch {
          /* pattern fast-check cannot invert */
        }
      }
    }
    if (ok(v)) return v;
  }
  return types.includes('null') ? null : undefined;
}

/** A minimal valid request body for the operation's preferred content type. */
export function sampleBody(op: Operation): { type: string; value: unknown } | undefined {
  const b = preferredBody(op);
  if (!b) return undefined;
  if (b.example !== undefined && validates(b.schema, b.example)) return { type: b.type, value: b.example };
  return { type: b.type, value: sample(b.schema) };
}

// ─── fast-check arbitraries ──────────────────────────────────────────────────

function stringArb(s: Json): fc.Arbitrary<string> {
  const f = formatValue(s.format);
  if (s.format === 'email') return fc.emailAddress();
  if (s.format === 'date-time') return fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString());
  if (s.format === 'date') return fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
  if (s.format === 'uuid') return fc.uuid();
  if (s.pattern) {
    try {
      return fc.stringMatching(new RegExp(s.pattern)).filter((x) => x.length <= (s.maxLength ?? 1000) && x.length >= (s.minLength ?? 0));
    } catch {
      /* fall through */
    }
  }
  const base = fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 40, 200), unit: 'grapheme' });
  return f ? fc.oneof(fc.constant(f), base) : base;
}

/** Values that mostly satisfy the schema (constraints on combinations are not guaranteed). */
export function arbitraryFor(schema: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (schema === undefined || schema === true) return fc.jsonValue({ maxDepth: 2 });
  if (schema === false || depth > 5) return fc.constant(null);
  const s = resolve(schema as Json);
  if ('const' in s) return fc.constant(s.const);
  if (Array.isArray(s.enum) && s.enum.length) return fc.constantFrom(...s.enum);
  const alts = [...((s.oneOf as Json[]) ?? []), ...((s.anyOf as Json[]) ?? [])];
  if (alts.length) return fc.oneof(...alts.map((a) => arbitraryFor({ ...s, oneOf: undefined, anyOf: undefined, ...resolve<Json>(a) }, depth + 1)));
  if (s.allOf) {
    const merged: Json = { type: 'object', properties: {}, required: [] };
    for (const p of (s.allOf as Json[]).map((x) => resolve(x))) {
      Object.assign(merged.properties, p.properties ?? {});
      merged.required.push(...(p.required ?? []));
    }
    return arbitraryFor(merged, depth + 1);
  }
  const types: string[] = Array.isArray(s.type) ? s.type : s.type ? [s.type] : s.properties ? ['object'] : [];
  if (!types.length) return fc.jsonValue({ maxDepth: 2 });
  return fc.oneof(
    ...types.map((type): fc.Arbitrary<unknown> => {
      switch (type) {
        case 'null':
          return fc.constant(null);
        case 'boolean':
          return fc.boolean();
        case 'integer':
          return fc.integer({ min: s.minimum ?? -1_000_000, max: s.maximum ?? 1_000_000 });
        case 'number':
          return fc.double({ min: s.minimum ?? -1e6, max: s.maximum ?? 1e6, noNaN: true });
        case 'string':
          return stringArb(s);
        case 'array':
          return fc.array(arbitraryFor(s.items ?? true, depth + 1), { minLength: s.minItems ?? 0, maxLength: Math.min(s.maxItems ?? 3, 5) });
        default: {
          const props = Object.entries<Json>(s.properties ?? {});
          const required = new Set<string>((s.required as string[]) ?? []);
          const model: Record<string, fc.Arbitrary<unknown>> = {};
          for (const [k, v] of props) model[k] = arbitraryFor(v, depth + 1);
          return fc.record(model, { requiredKeys: props.map(([k]) => k).filter((k) => required.has(k)) });
        }
      }
    }),
  );
}

/** Every string inside `v` with a NUL (`nul`) or a lone surrogate appended. */
export function poisonStrings(v: unknown, how: 'nul' | 'surrogate'): unknown {
  if (typeof v === 'string') return how === 'nul' ? `${v}\u0000` : `${v}\ud800`;
  if (Array.isArray(v)) return v.map((x) => poisonStrings(x, how));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, poisonStrings(x, how)]));
  return v;
}

/** Hostile values for any field or parameter. */
export const junkString = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '0',
    '-1',
    '99999999999999999999999',
    '1e309',
    'NaN',
    'null',
    'undefined',
    "1' OR '1'='1",
    "'; DROP TABLE tickets; --",
    '../../../../etc/passwd',
    '..%2F..%2Fetc%2Fpasswd',
    '%00',
    '\u0000',
    'a\u0000b',
    '\ud800',
    'x\udc00y',
    '<script>alert(1)</script>',
    '{{7*7}}',
    '${jndi:ldap://x}',
    'TX',
    'TX99999999999999999999',
    'MA-1',
    '🦄',
    'a'.repeat(5000),
  ),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 10 }),
);

export const junkValue: fc.Arbitrary<unknown> = fc.oneof(
  junkString,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant({}),
  fc.constant([]),
  fc.jsonValue({ maxDepth: 3 }),
  fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'role', 'status', 'id', 'a'), junkString),
);

/** Bodies that break the schema: wrong types, missing required fields, extra fields. */
export function invalidBodyArb(schema: Schema | undefined): fc.Arbitrary<unknown> {
  const s = schema === undefined || typeof schema === 'boolean' ? {} : resolve(schema as Json);
  const props = Object.keys(s.properties ?? {});
  const arbs: fc.Arbitrary<unknown>[] = [junkValue];
  if (props.length) {
    arbs.push(fc.dictionary(fc.constantFrom(...props), junkValue, { maxKeys: props.length }));
    arbs.push(
      fc.tuple(arbitraryFor(s), fc.constantFrom(...props), junkValue).map(([v, k, j]) => (v && typeof v === 'object' && !Array.isArray(v) ? { ...v, [k]: j } : v)),
    );
  }
  return fc.oneof(...arbs);
}
