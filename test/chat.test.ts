/**
 * FAQ chatbot through HTTP: the knowledge base (search, CRUD roles), answers from full-text search
 * without a model key, answers from a real local chat-completions server (grounded prompt, prior
 * turns) with fallback to search on errors, timeouts and empty replies, ownership, escalation,
 * and the per-caller chat rate limit.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { createApiKey, signedIn, startTestApp } from './helpers/harness.js';

// ─── a local server speaking the OpenAI chat-completions protocol ──────────
type Mode = 'ok' | 'error' | 'hang' | 'empty' | 'malformed';
interface Received {
  path: string;
  authorization?: string;
  body: { model: string; max_tokens: number; messages: { role: string; content: string }[] };
}
const llm = { mode: 'ok' as Mode, reply: 'Model says hello.', received: [] as Received[] };
const hanging = new Set<http.ServerResponse>();
const llmServer = http.createServer((req, res) => {
  let raw = '';
  req.on('data', (c) => (raw += c));
  req.on('end', () => {
    llm.received.push({ path: req.url ?? '', authorization: req.headers.authorization, body: JSON.parse(raw) });
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    switch (llm.mode) {
      case 'ok':
        return json(200, { id: 'cmpl-1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: llm.reply }, finish_reason: 'stop' }] });
      case 'error':
        return json(500, { error: { message: 'upstream exploded' } });
      case 'empty':
        return json(200, { choices: [{ index: 0, message: { role: 'assistant', content: '   ' } }] });
      case 'malformed':
        res.writeHead(200, { 'Content-Type': 'application/json' });
        return res.end('{"choices": [');
      case 'hang':
        hanging.add(res); // never answers
        return;
    }
  });
});
await new Promise<void>((r) => llmServer.listen(0, '127.0.0.1', r));
const llmUrl = `http://127.0.0.1:${(llmServer.address() as AddressInfo).port}/v1`;
t.teardown(async () => {
  for (const res of hanging) res.destroy();
  llmServer.closeAllConnections();
  await new Promise((r) => llmServer.close(r));
});

const CEO = 'Elizabeth Marcelo Tinio is the CEO of MAP Active Philippines.';
const OFFICE =
  'MAP ACTIVE PHILIPPINES INC. is located at 19th, 20th and 21st Floors 1 Proscenium Estrella Drive corner JP Rizal Street, Rockwell Center, Makati, Metro Manila, 1211 Philippines';

// an app without any model key; chat limited to 3 messages a minute per caller
const plain = await startTestApp(t, { env: { CHAT_RATE_LIMIT_PER_MINUTE: '3' } });
// an app talking to the local model server
const withModel = await startTestApp(t, { env: { LLM_API_KEY: 'sk-test-secret', LLM_API_URL: llmUrl, LLM_MODEL: 'test/model', LLM_TIMEOUT_MS: '300', LLM_MAX_TOKENS: '123' } });

t.test('the knowledge base is seeded on a fresh install and searchable by anyone', async (t) => {
  const all = await plain.api.get('/api/faqs/', { query: { limit: 100 } });
  t.equal(all.status, 200);
  const ceo = all.body.data.find((f: { question: string }) => f.question === 'Who is the CEO of MAP Active Philippines?');
  t.equal(ceo?.answer, CEO);
  t.ok(all.body.data.find((f: { answer: string }) => f.answer === OFFICE), 'the office address from the seed document');
  t.ok(all.body.data.some((f: { tags: string[] }) => f.tags.includes('smartsupport')), 'FAQs about SmartSupport itself');

  const s = await plain.api.get('/api/faqs/', { query: { q: 'where is the office' } });
  t.equal(s.body.data[0].answer, OFFICE);
  t.ok(s.body.data[0].rank > 0);
  const none = await plain.api.get('/api/faqs/', { query: { q: 'what is the boiling point of mercury' } });
  t.same(none.body.data, []);

  // keyset pagination walks every entry once
  const seen: number[] = [];
  let cursor: string | undefined;
  do {
    const page = await plain.api.get('/api/faqs/', { query: { limit: 2, ...(cursor ? { cursor } : {}) } });
    seen.push(...page.body.data.map((f: { id: number }) => f.id));
    cursor = page.body.next_cursor ?? undefined;
  } while (cursor);
  t.same(seen, all.body.data.map((f: { id: number }) => f.id));

  // search results page by (rank, id) too
  const ranked = (await plain.api.get('/api/faqs/', { query: { q: 'MAP Active Philippines', limit: 100 } })).body.data as { id: number; rank: number }[];
  t.ok(ranked.length >= 3);
  const walked: number[] = [];
  cursor = undefined;
  do {
    const page: { body: { data: { id: number }[]; next_cursor: string | null } } = await plain.api.get('/api/faqs/', { query: { q: 'MAP Active Philippines', limit: 1, ...(cursor ? { cursor } : {}) } });
    walked.push(...page.body.data.map((f: { id: number }) => f.id));
    cursor = page.body.next_cursor ?? undefined;
  } while (cursor);
  t.same(walked, ranked.map((f) => f.id));
  t.equal((await plain.api.get('/api/faqs/', { query: { cursor: 'bogus' } })).status, 400);

  const one = await plain.api.get(`/api/faqs/${ceo.id}/`);
  t.equal(one.body.question, ceo.question);
  t.equal((await plain.api.get('/api/faqs/999999/')).status, 404);
});

t.test('FAQ management is for System Admins', async (t) => {
  const admin = await signedIn(plain, { role: 'System Admin' });
  const coordinator = await signedIn(plain, { role: 'Ticket Coordinator' });
  const employee = await signedIn(plain);
  const body = { question: 'How do I connect to the office Wi-Fi?', answer: 'Use the MAPA-Staff network with your company account.', tags: ['WiFi', 'network', 'wifi'] };

  t.equal((await plain.api.post('/api/faqs/', body)).status, 401);
  t.equal((await plain.api.post('/api/faqs/', body, { token: employee.token })).status, 403);
  t.equal((await plain.api.post('/api/faqs/', body, { token: coordinator.token })).status, 403);
  const key = await createApiKey(plain.db, { role: 'System Admin', scopes: ['chat'] });
  t.equal((await plain.api.post('/api/faqs/', body, { apiKey: key.key })).body.code, 'api_key_not_allowed');
  t.equal((await plain.api.post('/api/faqs/', { question: ' ' , answer: 'x' }, { token: admin.token })).status, 400);

  const created = await plain.api.post('/api/faqs/', body, { token: admin.token });
  t.equal(created.status, 201);
  t.same(created.body.tags, ['wifi', 'network'], 'tags normalised');
  const id = created.body.id;
  t.equal((await plain.api.get('/api/faqs/', { query: { q: 'wifi not working' } })).body.data[0].id, id, 'searchable at once');

  t.equal((await plain.api.patch(`/api/faqs/${id}/`, { answer: 'Use MAPA-Staff.' }, { token: employee.token })).status, 403);
  const patched = await plain.api.patch(`/api/faqs/${id}/`, { answer: 'Use MAPA-Staff.' }, { token: admin.token });
  t.equal(patched.body.answer, 'Use MAPA-Staff.');
  t.equal(patched.body.question, body.question);

  t.equal((await plain.api.delete(`/api/faqs/${id}/`, { token: coordinator.token })).status, 403);
  t.equal((await plain.api.delete(`/api/faqs/${id}/`, { token: admin.token })).status, 204);
  t.equal((await plain.api.get(`/api/faqs/${id}/`)).status, 404);
  t.equal((await plain.api.delete(`/api/faqs/${id}/`, { token: admin.token })).status, 404);
  t.equal((await plain.api.patch(`/api/faqs/${id}/`, { answer: 'x' }, { token: admin.token })).status, 404);
});

t.test('without a model key, answers come from full-text search', async (t) => {
  const { token } = await signedIn(plain);
  const faqs = (await plain.api.get('/api/faqs/', { query: { limit: 100 } })).body.data as { id: number; answer: string }[];
  const idOf = (answer: string) => faqs.find((f) => f.answer === answer)!.id;

  const ceo = await plain.api.post('/api/chat/', { message: 'Who is the CEO of MAP Active Philippines?' }, { token });
  t.equal(ceo.status, 200);
  t.equal(ceo.body.provider, 'faq');
  t.equal(ceo.body.answer, CEO);
  t.equal(ceo.body.sources[0], idOf(CEO));

  const office = await plain.api.post('/api/chat/', { message: 'Where is the office located?', conversation_id: ceo.body.conversation_id }, { token });
  t.equal(office.body.answer, OFFICE);
  t.equal(office.body.sources[0], idOf(OFFICE));
  t.equal(office.body.conversation_id, ceo.body.conversation_id);

  const other = await plain.api.post('/api/chat/', { message: 'what is the boiling point of mercury' }, { token });
  t.equal(other.body.provider, 'faq');
  t.same(other.body.sources, []);
  t.match(other.body.answer, /couldn't find an answer/);
  t.match(other.body.answer, new RegExp(`chat escalate ${other.body.conversation_id}`), 'offers escalation');

  const conv = await plain.api.get(`/api/chat/${ceo.body.conversation_id}/`, { token });
  t.equal(conv.status, 200);
  t.same(conv.body.messages.map((m: { role: string }) => m.role), ['user', 'assistant', 'user', 'assistant']);
  t.equal(conv.body.messages[1].provider, 'faq');
  t.same(conv.body.messages[1].sources, ceo.body.sources);
  t.type(conv.body.messages[1].latency_ms, 'number');
});

t.test('search syntax in a question is just text', async (t) => {
  for (const q of ["O'Reilly's \\ back\\slash & | ! <-> ():* 'ceo'", 'the of and', '\'\'', 'C:\\path\\ceo']) {
    const { token } = await signedIn(plain); // (chat is limited to 3 a minute per caller here)
    const r = await plain.api.post('/api/chat/', { message: q }, { token });
    t.equal(r.status, 200, q);
    t.ok(r.body.answer.length > 0);
    t.equal((await plain.api.get('/api/faqs/', { query: { q } })).status, 200, q);
  }
});

t.test('message length is limited', async (t) => {
  const { token } = await signedIn(plain);
  const r = await plain.api.post('/api/chat/', { message: 'x'.repeat(2001) }, { token });
  t.equal(r.status, 400);
  t.equal((await plain.api.post('/api/chat/', { message: '   ' }, { token })).status, 400);
});

t.test('conversations are private to their owner', async (t) => {
  const alice = await signedIn(plain);
  const bob = await signedIn(plain);
  const admin = await signedIn(plain, { role: 'System Admin' });
  const r = await plain.api.post('/api/chat/', { message: 'Who is the CEO?' }, { token: alice.token });
  const id = r.body.conversation_id;
  t.equal((await plain.api.get(`/api/chat/${id}/`, { token: bob.token })).status, 404);
  t.equal((await plain.api.get(`/api/chat/${id}/`, { token: admin.token })).status, 404, 'even for staff');
  t.equal((await plain.api.post('/api/chat/', { message: 'hi', conversation_id: id }, { token: bob.token })).status, 404);
  t.equal((await plain.api.post(`/api/chat/${id}/escalate/`, undefined, { token: bob.token })).status, 404);
  t.equal((await plain.api.get('/api/chat/999999/', { token: alice.token })).status, 404);
  t.equal((await plain.api.get(`/api/chat/${id}/`)).status, 401);
});

t.test('API keys with the chat scope own their own conversations', async (t) => {
  const key = await createApiKey(plain.db, { role: 'Employee', scopes: ['chat'] });
  const other = await createApiKey(plain.db, { role: 'Employee', scopes: ['chat'] });
  const noScope = await createApiKey(plain.db, { role: 'Employee', scopes: ['tickets:read'] });
  t.equal((await plain.api.post('/api/chat/', { message: 'Who is the CEO?' }, { apiKey: noScope.key })).body.code, 'insufficient_scope');
  const r = await plain.api.post('/api/chat/', { message: 'Who is the CEO?' }, { apiKey: key.key });
  t.equal(r.status, 200);
  t.equal(r.body.answer, CEO);
  const conv = await plain.api.get(`/api/chat/${r.body.conversation_id}/`, { apiKey: key.key });
  t.equal(conv.body.api_key_id, key.id);
  t.equal(conv.body.employee_id, null);
  t.equal((await plain.api.get(`/api/chat/${r.body.conversation_id}/`, { apiKey: other.key })).status, 404);
  const esc = await plain.api.post(`/api/chat/${r.body.conversation_id}/escalate/`, undefined, { apiKey: key.key });
  t.equal(esc.status, 403);
  t.equal(esc.body.code, 'api_key_not_allowed');
});

t.test('escalation creates a ticket owned by the asker, once', async (t) => {
  const { user, token } = await signedIn(plain);
  const first = await plain.api.post('/api/chat/', { message: 'My VPN keeps disconnecting every hour' }, { token });
  const id = first.body.conversation_id;
  await plain.api.post('/api/chat/', { message: 'Who is the CEO?', conversation_id: id }, { token });

  const esc = await plain.api.post(`/api/chat/${id}/escalate/`, undefined, { token });
  t.equal(esc.status, 201);
  t.equal(esc.body.employee.id, user.id);
  t.equal(esc.body.status, 'New');
  t.match(esc.body.ticket_number, /^TX\d{4,}$/);
  t.match(esc.body.subject, /VPN keeps disconnecting/);
  t.match(esc.body.description, /Employee: My VPN keeps disconnecting every hour/);
  t.match(esc.body.description, new RegExp(CEO.replace(/\./g, '\\.')));

  const row = await plain.db('tickets').where({ id: esc.body.id }).first();
  t.equal(row.employee_id, user.id, 'the ticket row is owned by the asker (so they, and staff, see it)');
  // the same ticket body (and version) the tickets endpoint shows, and the same `created` history entry
  const shown = await plain.api.get(`/api/tickets/${esc.body.ticket_number}/`, { token });
  t.same(esc.body, shown.body, 'escalation answers exactly what GET /api/tickets/{id}/ shows');
  t.equal(esc.headers.get('etag'), shown.headers.get('etag'));
  t.equal(esc.body.category, 'General');
  t.equal(esc.body.sub_category, 'Chatbot escalation');
  const history = await plain.db('ticket_history').where({ ticket_id: esc.body.id });
  t.match(history, [{ event: 'created', field: 'status', to_value: 'New', actor_kind: 'user', actor_id: user.id, actor_api_key_id: null }]);
  t.equal(history.length, 1);
  const viaApi = await plain.api.get(`/api/tickets/${esc.body.id}/history/`, { token });
  t.match(viaApi.body.data, [{ event: 'created', actor: { kind: 'user', id: user.id } }]);

  const again = await plain.api.post(`/api/chat/${id}/escalate/`, undefined, { token });
  t.equal(again.status, 200, 'escalating again is idempotent');
  t.equal(again.body.id, esc.body.id);
  t.same(again.body, shown.body, 'the repeat answers the same ticket');
  t.equal(await plain.db('tickets').where({ employee_id: user.id }).count('* as n').first().then((r) => Number(r!.n)), 1);

  const conv = await plain.api.get(`/api/chat/${id}/`, { token });
  t.equal(conv.body.ticket_id, esc.body.id);
  t.equal(conv.body.ticket_number, esc.body.ticket_number);
});

t.test('chat is rate limited per caller', async (t) => {
  const a = await signedIn(plain);
  const b = await signedIn(plain);
  for (let i = 0; i < 3; i++) t.equal((await plain.api.post('/api/chat/', { message: 'Who is the CEO?' }, { token: a.token })).status, 200);
  const limited = await plain.api.post('/api/chat/', { message: 'Who is the CEO?' }, { token: a.token });
  t.equal(limited.status, 429);
  t.ok(Number(limited.headers.get('retry-after')) >= 1, 'Retry-After');
  t.equal((await plain.api.post('/api/chat/', { message: 'Who is the CEO?' }, { token: b.token })).status, 200, 'others are unaffected');
});

t.test('with a model: the prompt is grounded on matching FAQs and prior turns', async (t) => {
  const { token } = await signedIn(withModel);
  llm.mode = 'ok';
  llm.reply = 'The CEO is Elizabeth Marcelo Tinio.';
  llm.received = [];
  const first = await withModel.api.post('/api/chat/', { message: 'Who is the CEO of MAP Active Philippines?' }, { token });
  t.equal(first.status, 200);
  t.equal(first.body.provider, 'llm');
  t.equal(first.body.answer, 'The CEO is Elizabeth Marcelo Tinio.');
  t.ok(first.body.sources.length >= 1);

  t.equal(llm.received.length, 1);
  const req1 = llm.received[0];
  t.equal(req1.path, '/v1/chat/completions');
  t.equal(req1.authorization, 'Bearer sk-test-secret');
  t.equal(req1.body.model, 'test/model');
  t.equal(req1.body.max_tokens, 123);
  t.equal(req1.body.messages[0].role, 'system');
  t.match(req1.body.messages[0].content, CEO, 'the matching FAQ is in the system prompt');
  t.notMatch(req1.body.messages[0].content, /reset a password|forgot-password/, 'unrelated FAQs are not');
  t.same(req1.body.messages.slice(1), [{ role: 'user', content: 'Who is the CEO of MAP Active Philippines?' }]);

  llm.reply = 'It is in Rockwell Center, Makati.';
  const second = await withModel.api.post('/api/chat/', { message: 'Where is the office located?', conversation_id: first.body.conversation_id }, { token });
  t.equal(second.body.answer, 'It is in Rockwell Center, Makati.');
  const req2 = llm.received[1];
  t.match(req2.body.messages[0].content, 'Rockwell Center, Makati, Metro Manila', 'the office FAQ grounds the second question');
  t.same(req2.body.messages.slice(1), [
    { role: 'user', content: 'Who is the CEO of MAP Active Philippines?' },
    { role: 'assistant', content: 'The CEO is Elizabeth Marcelo Tinio.' },
    { role: 'user', content: 'Where is the office located?' },
  ], 'prior turns are sent, oldest first');

  llm.reply = 'She has led the company for years.';
  const third = await withModel.api.post('/api/chat/', { message: 'How long has she been in charge?', conversation_id: first.body.conversation_id }, { token });
  t.equal(third.body.provider, 'llm');
  t.match(llm.received[2].body.messages[0].content, 'Rockwell Center', 'a follow-up is grounded on the previous question\'s FAQs');

  const conv = await withModel.api.get(`/api/chat/${first.body.conversation_id}/`, { token });
  t.same(conv.body.messages.map((m: { provider: string | null }) => m.provider), [null, 'llm', null, 'llm', null, 'llm']);
});

for (const mode of ['error', 'hang', 'empty', 'malformed'] as const) {
  t.test(`with a model that fails (${mode}): the answer falls back to full-text search`, async (t) => {
    const { token } = await signedIn(withModel);
    llm.mode = mode;
    llm.received = [];
    const r = await withModel.api.post('/api/chat/', { message: 'Where is the office located?' }, { token });
    t.equal(r.status, 200);
    t.equal(r.body.provider, 'faq');
    t.equal(r.body.answer, OFFICE);
    t.equal(llm.received.length, 1, 'the model was asked first');
    const none = await withModel.api.post('/api/chat/', { message: 'what is the boiling point of mercury' }, { token });
    t.equal(none.status, 200);
    t.equal(none.body.provider, 'faq');
    t.match(none.body.answer, /couldn't find an answer/);
    llm.mode = 'ok';
  });
}

t.test('`smartsupport seed` re-applies the FAQ seed idempotently and keeps admin edits', async (t) => {
  const { seed } = await import('../seeds/20_faqs.js');
  const ctx = { db: plain.db, config: plain.config, log: plain.app.log, demo: false };
  const before = Number((await plain.db('faqs').count('* as n').first())!.n);
  await plain.db('faqs').where({ seed_key: 'company-services' }).update({ answer: 'Edited by an admin.' });
  await plain.db('faqs').where({ seed_key: 'smartsupport-ticket-status' }).delete();
  await seed(ctx);
  await seed(ctx);
  t.equal(Number((await plain.db('faqs').count('* as n').first())!.n), before, 'a missing seed entry comes back, nothing is duplicated');
  t.equal((await plain.db('faqs').where({ seed_key: 'company-services' }).first()).answer, 'Edited by an admin.', 'edits are kept');
});
