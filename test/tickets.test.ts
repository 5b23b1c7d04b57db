/**
 * Tickets through HTTP: CRUD and ownership, views, filters, search, comments, history, ETags,
 * visibility, the report, and the constant query count of a list page.
 */
import t from 'tap';
import { createApiKey, signedIn, startTestApp } from './helpers/harness.js';

const ta = await startTestApp(t);
const api = ta.api;
const admin = await signedIn(ta, { role: 'System Admin' });
const coord = await signedIn(ta, { role: 'Ticket Coordinator' });
const alice = await signedIn(ta, { role: 'Employee' });
const bob = await signedIn(ta, { role: 'Employee' });

const NEW = { subject: 'Printer jams on floor 3', category: 'Hardware', sub_category: 'Printer', description: 'Paper jams every other page.' };

async function create(token: string, over: Record<string, unknown> = {}) {
  const r = await api.post('/api/tickets/', { ...NEW, ...over }, { token });
  if (r.status !== 201) throw new Error(`create failed: ${r.status} ${r.text}`);
  return r.body;
}

t.test('create: status New, a TX number, the owner; employees cannot set staff fields', async (t) => {
  const r = await api.post('/api/tickets/', { ...NEW, scheduled_date: '2026-12-01' }, { token: alice.token });
  t.equal(r.status, 201);
  t.match(r.body, { status: 'New', ticket_number: /^TX\d{4,}$/, employee: { id: alice.user.id }, assigned_to: null, scheduled_date: '2026-12-01', attachments: [], comments: [] });
  t.equal(r.headers.get('etag'), `"v${r.body.version}"`);
  t.equal(r.headers.get('location'), `/api/tickets/${r.body.ticket_number}/`);
  const bad = await api.post('/api/tickets/', { ...NEW, priority: 'High' }, { token: alice.token });
  t.equal(bad.status, 422);
  t.equal(bad.body.code, 'field_not_allowed');
  const status = await api.post('/api/tickets/', { ...NEW, status: 'Open' }, { token: alice.token });
  t.equal(status.status, 400, 'status is not a field of the create body');
  const staff = await api.post('/api/tickets/', { ...NEW, priority: 'High', employee_id: bob.user.id }, { token: coord.token });
  t.match(staff.body, { priority: 'High', employee: { id: bob.user.id } });
  const key = await createApiKey(ta.db, { role: 'Ticket Coordinator', scopes: ['tickets:write'] });
  const noOwner = await api.post('/api/tickets/', NEW, { apiKey: key.key });
  t.equal(noOwner.status, 422);
  t.equal(noOwner.body.code, 'employee_required');
  const viaKey = await api.post('/api/tickets/', { ...NEW, employee_id: alice.user.id }, { apiKey: key.key });
  t.equal(viaKey.status, 201);
  const hist = await api.get(`/api/tickets/${viaKey.body.id}/history/`, { token: admin.token });
  t.match(hist.body.data[0], { event: 'created', actor: { kind: 'api_key', id: key.id } });
});

t.test('multipart create: fields plus files[] stored as attachments in the same transaction', async (t) => {
  const form = new FormData();
  for (const [k, v] of Object.entries(NEW)) form.append(k, v);
  const r = await api.post('/api/tickets/', undefined, { token: alice.token, raw: form });
  t.equal(r.status, 201);
  t.equal(r.body.subject, NEW.subject);
  const withFile = new FormData();
  for (const [k, v] of Object.entries(NEW)) withFile.append(k, v);
  withFile.append('files[]', new Blob(['hello, this is a log file\n']), 'a.txt');
  withFile.append('files[]', new Blob(['a,b\n1,2\n']), '../../report.csv');
  const f = await api.post('/api/tickets/', undefined, { token: alice.token, raw: withFile });
  t.equal(f.status, 201);
  t.match(f.body.attachments, [{ file_name: 'a.txt', file_size: 26 }, { file_name: /^[^/]*report\.csv$/ }]);
  t.match(f.body.attachments[0].url, /\/api\/attachments\/\d+\/download\/\?signature=/);
  const dl = await fetch(f.body.attachments[0].url.replace(ta.config.publicUrl, ta.url));
  t.equal(await dl.text(), 'hello, this is a log file\n', 'the signed link downloads the file');
  const hist = await api.get(`/api/tickets/${f.body.id}/history/`, { token: alice.token });
  t.equal(hist.body.data.filter((h: { event: string }) => h.event === 'attachment_added').length, 2);

  // a rejected file rejects the whole ticket: nothing half-created
  const before = Number((await ta.db('tickets').count({ n: '*' }))[0].n);
  const bad = new FormData();
  for (const [k, v] of Object.entries(NEW)) bad.append(k, v);
  bad.append('files[]', new Blob([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0])]), 'tool.jpg');
  const rejected = await api.post('/api/tickets/', undefined, { token: alice.token, raw: bad });
  t.equal(rejected.status, 415);
  t.equal(Number((await ta.db('tickets').count({ n: '*' }))[0].n), before, 'no ticket was created');

  // deleting the ticket removes its files
  const keys = await ta.db('ticket_attachments').where({ ticket_id: f.body.id }).pluck('storage_key');
  const del = await api.delete(`/api/tickets/${f.body.id}/`, { token: alice.token });
  t.equal(del.status, 204);
  const { existsSync } = await import('node:fs');
  const pathMod = await import('node:path');
  // files are removed once the delete has committed, alongside the response: wait for it
  const gone = async () => keys.every((k) => !existsSync(pathMod.join(ta.dataDir, 'media', k)));
  for (let i = 0; i < 100 && !(await gone()); i++) await new Promise((r) => setTimeout(r, 50));
  for (const k of keys) t.notOk(existsSync(pathMod.join(ta.dataDir, 'media', k)), `${k} removed`);
});

t.test('get by id or number; others\' tickets are 404; ETag and If-Match', async (t) => {
  const tk = await create(alice.token);
  t.equal((await api.get(`/api/tickets/${tk.id}/`, { token: alice.token })).status, 200);
  t.equal((await api.get(`/api/tickets/${tk.ticket_number.toLowerCase()}`, { token: alice.token })).body.id, tk.id);
  t.equal((await api.get(`/api/tickets/${tk.id}/`, { token: bob.token })).status, 404);
  t.equal((await api.get(`/api/tickets/${tk.id}/`, { token: coord.token })).status, 200);
  t.equal((await api.get('/api/tickets/999999/', { token: admin.token })).status, 404);

  const g = await api.get(`/api/tickets/${tk.id}/`, { token: alice.token });
  const etag = g.headers.get('etag')!;
  const p1 = await api.patch(`/api/tickets/${tk.id}/`, { subject: 'Updated' }, { token: alice.token, headers: { 'If-Match': etag } });
  t.equal(p1.status, 200);
  t.equal(p1.body.subject, 'Updated');
  t.not(p1.headers.get('etag'), etag, 'version moved');
  const stale = await api.patch(`/api/tickets/${tk.id}/`, { subject: 'Again' }, { token: alice.token, headers: { 'If-Match': etag } });
  t.equal(stale.status, 412);
  t.equal(stale.body.code, 'precondition_failed');
  const staleMove = await api.post(`/api/tickets/${tk.id}/approve/`, { priority: 'Low', department: 'IT Department' }, { token: coord.token, headers: { 'If-Match': etag } });
  t.equal(staleMove.status, 412);
});

t.test('edit rules: owner only while New and only content; staff also priority/department', async (t) => {
  const tk = await create(alice.token);
  t.equal((await api.patch(`/api/tickets/${tk.id}/`, { priority: 'High' }, { token: alice.token })).status, 422);
  t.equal((await api.patch(`/api/tickets/${tk.id}/`, { subject: 'x' }, { token: bob.token })).status, 404);
  t.equal((await api.patch(`/api/tickets/${tk.id}/`, { status: 'Open' }, { token: admin.token })).status, 400, 'status is never writable here');
  const put = await api.put(`/api/tickets/${tk.id}/`, { ...NEW, subject: 'Put' }, { token: alice.token });
  t.equal(put.body.subject, 'Put');
  await api.post(`/api/tickets/${tk.id}/approve/`, { priority: 'Low', department: 'IT Department' }, { token: coord.token });
  const locked = await api.patch(`/api/tickets/${tk.id}/`, { subject: 'late' }, { token: alice.token });
  t.equal(locked.status, 409);
  t.equal(locked.body.code, 'not_editable');
  const staff = await api.patch(`/api/tickets/${tk.id}/`, { priority: 'Critical', department: 'Asset Department' }, { token: coord.token });
  t.match(staff.body, { priority: 'Critical', department: 'Asset Department', status: 'Open' });
  const hist = await api.get(`/api/tickets/${tk.id}/history/`, { token: alice.token });
  t.ok(hist.body.data.some((h: { field: string; from_value: string; to_value: string }) => h.field === 'priority' && h.from_value === 'Low' && h.to_value === 'Critical'));
});

t.test('delete: owner while New, System Admin always, nobody else', async (t) => {
  const a = await create(alice.token);
  t.equal((await api.delete(`/api/tickets/${a.id}/`, { token: bob.token })).status, 404);
  t.equal((await api.delete(`/api/tickets/${a.id}/`, { token: coord.token })).status, 403);
  t.equal((await api.delete(`/api/tickets/${a.id}/`, { token: alice.token })).status, 204);
  t.equal((await api.get(`/api/tickets/${a.id}/`, { token: admin.token })).status, 404);
  const b = await create(alice.token);
  await api.post(`/api/tickets/${b.id}/approve/`, { priority: 'Low', department: 'IT Department' }, { token: coord.token });
  t.equal((await api.delete(`/api/tickets/${b.id}/`, { token: alice.token })).status, 409);
  t.equal((await api.delete(`/api/tickets/${b.id}/`, { token: admin.token })).status, 204);
});

t.test('lists: own tickets for employees, filters, views, search, pagination', async (t) => {
  const carol = await signedIn(ta, { role: 'Employee' });
  const dave = await signedIn(ta, { role: 'Employee' });
  const c1 = await create(carol.token, { subject: 'Monitor flickers badly', category: 'Display' });
  const c2 = await create(carol.token, { subject: 'VPN drops hourly', category: 'Network' });
  const d1 = await create(dave.token, { subject: 'Keyboard sticky', category: 'Hardware' });
  await api.post(`/api/tickets/${c2.id}/approve/`, { priority: 'High', department: 'IT Department' }, { token: coord.token });
  await api.post(`/api/tickets/${d1.id}/approve/`, { priority: 'Low', department: 'Budget Department' }, { token: coord.token });
  await api.post(`/api/tickets/${d1.id}/claim/`, undefined, { token: coord.token });

  const mine = await api.get('/api/tickets/', { token: carol.token });
  t.same(mine.body.data.map((x: { id: number }) => x.id), [c2.id, c1.id], 'newest first, only own');
  t.same((await api.get('/api/tickets/', { token: carol.token, query: { order: 'submit_date' } })).body.data.map((x: { id: number }) => x.id), [c1.id, c2.id]);
  t.same((await api.get('/api/tickets/', { token: carol.token, query: { employee: dave.user.company_id } })).body.data, [], 'cannot peek via employee filter');

  const ids = async (query: Record<string, string | string[]>) => (await api.get('/api/tickets/', { token: admin.token, query: { ...query, limit: '100' } })).body.data.map((x: { id: number }) => x.id);
  t.same(await ids({ employee: String(carol.user.id) }), [c2.id, c1.id]);
  t.same(await ids({ employee: carol.user.company_id, status: ['New'] }), [c1.id]);
  t.same(await ids({ employee: carol.user.company_id, status: ['New', 'Open'] }), [c2.id, c1.id]);
  t.same(await ids({ priority: 'Low', department: 'Budget Department', employee: dave.user.company_id }), [d1.id]);
  t.same(await ids({ category: 'Display', employee: carol.user.company_id }), [c1.id]);
  t.same(await ids({ assigned_to: coord.user.company_id, employee: dave.user.company_id }), [d1.id]);
  t.same(await ids({ assigned_to: coord.user.company_id.toLowerCase(), employee: dave.user.company_id }), [d1.id], 'company id in any case');
  t.same(await ids({ assigned_to: String(coord.user.id), employee: dave.user.company_id }), [d1.id], 'numeric id');
  t.same(await ids({ assigned_to: carol.user.company_id }), [], 'someone with nothing assigned');
  t.same((await api.get('/api/tickets/', { token: coord.token, query: { assigned_to: 'me', employee: dave.user.company_id } })).body.data.map((x: { id: number }) => x.id), [d1.id]);
  t.same(await ids({ q: 'flickers' }), [c1.id], 'full-text');
  t.same(await ids({ q: c2.ticket_number }), [c2.id], 'exact number');
  t.same(await ids({ submitted_after: new Date(Date.now() + 60_000).toISOString() }), []);
  t.ok((await ids({ submitted_before: new Date(Date.now() + 60_000).toISOString() })).includes(c1.id));

  const news = await api.get('/api/tickets/new/', { token: coord.token, query: { limit: 100 } });
  t.ok(news.body.data.every((x: { status: string }) => x.status === 'New'));
  t.ok(news.body.data.some((x: { id: number }) => x.id === c1.id));
  const open = await api.get('/api/tickets/open/', { token: coord.token, query: { limit: 100 } });
  t.ok(open.body.data.some((x: { id: number }) => x.id === c2.id));
  t.ok(open.body.data.every((x: { status: string }) => x.status === 'Open'));
  const my = await api.get('/api/tickets/my-tickets/', { token: coord.token });
  t.ok(my.body.data.some((x: { id: number }) => x.id === d1.id));
  t.equal((await api.get('/api/tickets/new/', { token: carol.token })).status, 403);

  // walk every page: nothing missed, nothing repeated
  const seen: number[] = [];
  let cursor: string | null = null;
  do {
    const page: { body: { data: { id: number }[]; next_cursor: string | null } } = await api.get('/api/tickets/', { token: admin.token, query: { limit: 2, ...(cursor ? { cursor } : {}) } });
    seen.push(...page.body.data.map((x) => x.id));
    cursor = page.body.next_cursor;
  } while (cursor);
  const total = Number((await ta.db('tickets').count({ n: '*' }))[0].n);
  t.equal(seen.length, total);
  t.equal(new Set(seen).size, total);
});

t.test("an employee's list (its JSON written by PostgreSQL) says exactly what the staff list says of the same tickets, minus the SLA block", async (t) => {
  const carol = await signedIn(ta, { role: 'Employee' });
  const made: { id: number }[] = [];
  for (const over of [{}, { subject: 'Écran \u201cnoir\u201d \\ "quoted" \u{1F5A8}\ufe0f', description: 'line1\nline2\ttab \u0001' }, { scheduled_date: '2027-02-28' }, {}]) made.push(await create(carol.token, over));
  // every field set somewhere: an assignee, a department, times with microseconds, a rejection, nulls
  await ta.db('tickets').where({ id: made[0].id }).update({ status: 'Open', priority: 'High', department: 'IT Department', assigned_to: coord.user.id, approved_at: ta.db.raw(`'2026-11-30 10:11:12.345678+00'`), response_time: 125 });
  await ta.db('tickets').where({ id: made[1].id }).update({ status: 'Resolved', approved_at: ta.db.raw(`'2026-11-29 23:59:59.9996+05:30'`), resolved_at: ta.db.raw('now()'), resolution_time: 86401 });
  await ta.db('tickets').where({ id: made[2].id }).update({ status: 'Rejected', rejection_reason: 'Duplicate of TX0001 — «see there»', time_closed: ta.db.raw('now()') });
  const own = await api.get('/api/tickets/?limit=100', { token: carol.token });
  t.equal(own.status, 200);
  t.match(own.headers.get('content-type'), /^application\/json; charset=utf-8$/);
  const staff = await api.get(`/api/tickets/?limit=100&employee=${carol.user.id}`, { token: admin.token });
  t.equal(staff.body.data.length, 4);
  const withoutSla = staff.body.data.map(({ sla: _s, ...rest }: Record<string, unknown>) => rest);
  t.same(own.body.data, withoutSla, 'the same tickets, fields and values');
  t.equal(JSON.stringify(own.body.data), JSON.stringify(withoutSla), 'and the same key order');
  for (const item of own.body.data) t.notOk('sla' in item, 'no SLA block for the owner');
  // the detail view agrees too (its own fields aside)
  const detail = (await api.get(`/api/tickets/${made[1].id}/`, { token: carol.token })).body;
  const listed = own.body.data.find((x: { id: number }) => x.id === made[1].id);
  for (const [k, v] of Object.entries(listed)) t.same(detail[k], v, `detail and list agree on ${k}`);
  // pages of two walk the same four tickets, newest first
  const seen: number[] = [];
  let cursor: string | null = null;
  do {
    const r: { status: number; body: { data: { id: number }[]; next_cursor: string | null } } = await api.get(`/api/tickets/?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: carol.token });
    t.equal(r.status, 200);
    seen.push(...r.body.data.map((x) => x.id));
    cursor = r.body.next_cursor;
  } while (cursor);
  t.same(seen, made.map((m) => m.id).reverse());
});

t.test('a list page is a constant number of queries, whatever its size', async (t) => {
  for (let i = 0; i < 25; i++) await create(alice.token, { subject: `bulk ${i}` });
  const count = async (limit: number) => {
    let n = 0;
    const on = () => void n++;
    ta.db.on('query', on);
    try {
      const r = await api.get('/api/tickets/', { token: admin.token, query: { limit } });
      t.equal(r.body.data.length, limit);
    } finally {
      ta.db.off('query', on);
    }
    return n;
  };
  const small = await count(1);
  const big = await count(25);
  t.equal(big, small, `limit 1 → ${small} queries, limit 25 → ${big}`);
  t.ok(small <= 2);
});

t.test('comments: internal ones are staff-only everywhere', async (t) => {
  const tk = await create(alice.token, { subject: 'Secret stuff zebra' });
  const pub = await api.post(`/api/tickets/${tk.id}/comments/`, { comment: 'We are on it' }, { token: coord.token });
  t.equal(pub.status, 201);
  t.match(pub.body, { is_internal: false, author: { id: coord.user.id } });
  const internal = await api.post(`/api/tickets/${tk.id}/comments/`, { comment: 'owner is annoying zebra', is_internal: true }, { token: coord.token });
  t.equal(internal.status, 201);
  t.equal((await api.post(`/api/tickets/${tk.id}/comments/`, { comment: 'x', is_internal: true }, { token: alice.token })).status, 403);
  t.equal((await api.post(`/api/tickets/${tk.id}/comments/`, { comment: 'x' }, { token: bob.token })).status, 404);
  t.equal((await api.post(`/api/tickets/${tk.id}/comments/`, { comment: 'thanks' }, { token: alice.token })).status, 201);

  const ownerList = await api.get(`/api/tickets/${tk.id}/comments/`, { token: alice.token });
  t.same(ownerList.body.data.map((c: { comment: string }) => c.comment), ['We are on it', 'thanks']);
  const staffList = await api.get(`/api/tickets/${tk.id}/comments/`, { token: coord.token });
  t.equal(staffList.body.data.length, 3);
  const detail = await api.get(`/api/tickets/${tk.id}/`, { token: alice.token });
  t.notOk(detail.text.includes('annoying'), 'not in the detail');
  t.equal((await api.get(`/api/tickets/${tk.id}/`, { token: coord.token })).body.comments.length, 3);
  const hist = await api.get(`/api/tickets/${tk.id}/history/`, { token: alice.token });
  t.notOk(hist.body.data.some((h: { is_internal: boolean }) => h.is_internal), 'no internal history for the owner');
  t.ok((await api.get(`/api/tickets/${tk.id}/history/`, { token: coord.token })).body.data.some((h: { is_internal: boolean }) => h.is_internal));
  t.equal((await api.get(`/api/tickets/${tk.id}/comments/`, { token: bob.token })).status, 404);
  t.equal((await api.get(`/api/tickets/${tk.id}/history/`, { token: bob.token })).status, 404);
  const search = await api.get('/api/tickets/', { token: alice.token, query: { q: 'annoying' } });
  t.same(search.body.data, [], 'search does not look into comments');
  const emails = await ta.db('notifications').where({ template: 'ticket_commented' }).whereRaw(`data->>'ticket_number' = ?`, [tk.ticket_number]).select('data');
  t.same(emails.map((e: { data: { comment: string; commenter_name: string } }) => [e.data.comment, e.data.commenter_name]), [['We are on it', `${coord.user.first_name} ${coord.user.last_name}`]],
    'one email to the owner, for the public staff comment, naming its author; none for the internal one or her own');
  t.notOk(JSON.stringify(emails).includes('annoying'), 'no email for internal comments');
});

t.test('visibility: another employee sees nothing of alice\'s tickets through any endpoint', async (t) => {
  const tk = await create(alice.token, { subject: 'Private unicornword' });
  const paths = [`/api/tickets/${tk.id}/`, `/api/tickets/${tk.ticket_number}/`, `/api/tickets/${tk.id}/comments/`, `/api/tickets/${tk.id}/history/`];
  for (const p of paths) t.equal((await api.get(p, { token: bob.token })).status, 404, p);
  for (const a of ['withdraw', 'close']) t.equal((await api.post(`/api/tickets/${tk.id}/${a}/`, {}, { token: bob.token })).status, 404, a);
  t.equal((await api.put(`/api/tickets/${tk.id}/`, NEW, { token: bob.token })).status, 404);
  t.equal((await api.delete(`/api/tickets/${tk.id}/`, { token: bob.token })).status, 404);
  const list = await api.get('/api/tickets/', { token: bob.token, query: { q: 'unicornword', limit: 100 } });
  t.same(list.body.data, []);
  const all = await api.get('/api/tickets/', { token: bob.token, query: { limit: 100 } });
  t.ok(all.body.data.every((x: { employee: { id: number } }) => x.employee.id === bob.user.id));
  t.equal((await api.get('/api/reports/tickets/', { token: bob.token })).status, 403);
});

t.test('report: counts by status and percentiles by department and priority', async (t) => {
  const tk = await create(alice.token);
  await api.post(`/api/tickets/${tk.id}/approve/`, { priority: 'Medium', department: 'Asset Department' }, { token: coord.token });
  await ta.db('tickets').where({ id: tk.id }).update({ response_time: 100 });
  const r = await api.get('/api/reports/tickets/', { token: admin.token });
  t.equal(r.status, 200);
  const total = Number((await ta.db('tickets').count({ n: '*' }))[0].n);
  t.equal(Object.values(r.body.by_status as Record<string, number>).reduce((a, b) => a + b, 0), total);
  const row = r.body.times.find((x: { department: string; priority: string }) => x.department === 'Asset Department' && x.priority === 'Medium');
  t.match(row, { tickets: 1, response_time_p50: 100, response_time_p90: 100 }, 'the only Asset/Medium ticket, with the response time it was given');
});
