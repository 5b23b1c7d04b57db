/**
 * Every example in openapi.yaml is valid against the schema it illustrates: schema-level `example`s,
 * request and response media-type `example`/`examples` (JSON and multipart), parameter and header
 * examples. Generated clients, docs and mock servers show these to people, so a stale example is a
 * contract bug. And every operation has them: an example for each request body (JSON, and multipart
 * bodies with text fields; a body of file parts alone has nothing to show), one for each JSON success
 * answer (binary downloads, text, YAML, HTML and event streams have no JSON to show), and an example
 * problem for every error code (each error response is a shared component that carries one).
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
    for (const [type, mt] of Object.entries<Json>(body?.content ?? {})) out.push(...examplesOf(`${id} request ${type}`, mt, mt.schema));
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

// ─── coverage: every operation has its examples ─────────────────────────────

const hasExample = (mt: Json) => mt.example !== undefined || Object.keys(mt.examples ?? {}).length > 0;
const fileOnly = (schema: Json) => {
  const props = Object.values<Json>(resolve<Json>(schema)?.properties ?? {});
  return props.length > 0 && props.every((p) => p.format === 'binary' || resolve<Json>(p.items)?.format === 'binary');
};

/** What lacks an example: request bodies, JSON 2xx answers, error answers without an example problem. */
function missingExamples(): string[] {
  const missing: string[] = [];
  for (const op of spec.operations) {
    const id = op.operationId;
    const body = resolve<Json | undefined>(op.raw.requestBody);
    for (const [type, mt] of Object.entries<Json>(body?.content ?? {})) {
      if (type === 'multipart/form-data' && fileOnly(mt.schema)) continue; // only file parts: nothing to show
      if (!hasExample(mt)) missing.push(`${id} request ${type}`);
    }
    for (const [code, ref] of Object.entries<Json>(op.raw.responses ?? {})) {
      const r = resolve<Json>(ref);
      for (const [type, mt] of Object.entries<Json>(r.content ?? {})) {
        // binary downloads, metrics text, the spec as YAML, the HTML docs, SSE: no JSON example to give
        if (!/json/.test(type)) continue;
        if (!hasExample(mt)) missing.push(`${id} ${code} ${type}${code.startsWith('2') ? '' : ' (example problem)'}`);
      }
    }
  }
  return missing;
}

t.test('every operation has a request example, a success example and an example problem per error code', async (t) => {
  const missing = missingExamples();
  t.same(missing, [], `${missing.length} request bodies / answers without an example`);
  // the check sees the operations at all: the spec has dozens of JSON answers, each now illustrated
  const answers = spec.operations.flatMap((op) => Object.entries<Json>(op.raw.responses ?? {}).filter(([c]) => c.startsWith('2')));
  t.ok(answers.length >= 90, `${answers.length} success answers checked`);
});

t.test('the coverage check fails on an operation without examples (not vacuous)', async (t) => {
  const op = spec.operations.find((o) => o.operationId === 'createTicketComment');
  t.ok(op, 'createTicketComment is in the spec');
  const json = op!.raw.requestBody.content['application/json'];
  const saved = { example: json.example, examples: json.examples };
  delete json.example;
  delete json.examples;
  try {
    t.ok(missingExamples().includes('createTicketComment request application/json'), 'a request body without an example is reported');
  } finally {
    if (saved.example !== undefined) json.example = saved.example;
    if (saved.examples !== undefined) json.examples = saved.examples;
  }
});
