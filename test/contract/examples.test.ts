/**
 * Every example in openapi.yaml is valid against the schema it illustrates: schema-level `example`s,
 * request and response media-type `example`/`examples`, parameter and header examples. Generated
 * clients, docs and mock servers show these to people, so a stale example is a contract bug. Also:
 * every error component response carries an example problem.
 */
import t from 'tap';
import { resolve, spec, validates, type Json } from './lib/spec-tools.js';

interface Example {
  where: string;
  schema: Json;
  value: unknown;
}

/** The examples a media-type object / parameter / header gives for `schema`. */
function examplesOf(where: string, node: Json, schema: Json | undefined): Example[] {
  if (!schema) return [];
  const out: Example[] = [];
  if (node.example !== undefined) out.push({ where: `${where} example`, schema, value: node.example });
  for (const [name, ex] of Object.entries<Json>(node.examples ?? {})) {
    const e = resolve(ex);
    if (e && 'value' in e) out.push({ where: `${where} examples.${name}`, schema, value: e.value });
  }
  return out;
}

function collect(): Example[] {
  const out: Example[] = [];
  for (const [name, schema] of Object.entries<Json>(spec.doc.components?.schemas ?? {})) {
    if (schema.example !== undefined) out.push({ where: `schema ${name} example`, schema: { $ref: `#/components/schemas/${name}` }, value: schema.example });
    for (const [i, v] of (Array.isArray(schema.examples) ? schema.examples : []).entries()) out.push({ where: `schema ${name} examples[${i}]`, schema: { $ref: `#/components/schemas/${name}` }, value: v });
  }
  for (const [name, r] of Object.entries<Json>(spec.doc.components?.responses ?? {})) {
    for (const [type, mt] of Object.entries<Json>(r.content ?? {})) out.push(...examplesOf(`response ${name} ${type}`, mt, mt.schema));
  }
  for (const [name, h] of Object.entries<Json>(spec.doc.components?.headers ?? {})) out.push(...examplesOf(`header ${name}`, h, h.schema));
  for (const [name, p] of Object.entries<Json>(spec.doc.components?.parameters ?? {})) out.push(...examplesOf(`parameter ${name}`, p, p.schema));
  for (const op of spec.operations) {
    const id = op.operationId;
    for (const p of (op.raw.parameters ?? []) as Json[]) if (!p.$ref) out.push(...examplesOf(`${id} parameter ${p.name}`, p, p.schema));
    const body = op.raw.requestBody && !op.raw.requestBody.$ref ? (op.raw.requestBody as Json) : undefined;
    for (const [type, mt] of Object.entries<Json>(body?.content ?? {})) if (/json/.test(type)) out.push(...examplesOf(`${id} request ${type}`, mt, mt.schema));
    for (const [code, r] of Object.entries<Json>(op.raw.responses ?? {})) {
      if (r.$ref) continue;
      for (const [type, mt] of Object.entries<Json>(r.content ?? {})) if (/json/.test(type)) out.push(...examplesOf(`${id} ${code} ${type}`, mt, mt.schema));
    }
  }
  return out;
}

const examples = collect();

t.test('the spec has examples to check', async (t) => {
  // the error components alone carry ten; a broken collector finding none must not pass quietly
  t.ok(examples.length >= 10, `${examples.length} examples found`);
});

t.test('every example is valid against its schema', async (t) => {
  for (const e of examples) t.ok(validates(e.schema, e.value), `${e.where} matches its schema`);
});

t.test('a broken example is caught (the check is not vacuous)', async (t) => {
  t.notOk(validates({ $ref: '#/components/schemas/Problem' }, { type: 42 }), 'a problem whose type is a number');
});

t.test('every error component response carries an example problem', async (t) => {
  for (const [name, r] of Object.entries<Json>(spec.doc.components?.responses ?? {})) {
    const content = Object.entries<Json>(r.content ?? {}).filter(([type]) => type === 'application/problem+json');
    if (!content.length) continue;
    const has = content.some(([, mt]) => mt.example !== undefined || Object.keys(mt.examples ?? {}).length > 0);
    t.ok(has, `${name} has an example problem`);
  }
});
