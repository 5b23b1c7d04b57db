/**
 * Ticket creates on the pool are written in batches (src/features/tickets/create-batch.ts): the
 * creates that wait while a statement runs go together in the next one. Each create must still get
 * exactly its own ticket — its owner, fields, history actor and event actor, never a neighbour's —
 * the rows must be the ones the transaction path (one create, compiled afresh) writes, and a create
 * whose data fails must fail alone while its neighbours are written once. Creates stuck on a row
 * lock must not hold everyone else's.
 */
import t from 'tap';
import type { Knex } from 'knex';
import { CREATE_SQL, insertTicketWithHistory, ticketCreateBatcher } from '../src/features/tickets/ticket-store.js';
import { CreateBatcher, createBatchSql, MAX_BATCH } from '../src/features/tickets/create-batch.js';
import type { ActorRef, TicketRow } from '../src/features/tickets/ticket-model.js';
import type { EventInput } from '../src/features/events/events.js';
import { createApiKey, createEmployee, startTestApp } from './helpers/harness.js';

const ta = await startTestApp(t);
const db = ta.db as Knex;
const alice = await createEmployee(db, { role: 'Employee', department: 'IT Department' });
const bob = await createEmployee(db, { role: 'Employee', department: 'Budget Department' });
const coord = await createEmployee(db, { role: 'Ticket Coordinator' });
const key = await createApiKey(db, { role: 'System Admin' });

type Actor = { ref: ActorRef; event: EventInput['actor'] };
const asEmployee = (e: { id: number; first_name: string; last_name: string }): Actor => ({ ref: { actor_kind: 'user', actor_id: e.id, actor_api_key_id: null }, event: { kind: 'employee', id: e.id, display: `${e.first_name} ${e.last_name}` } });
const asKey: Actor = { ref: { actor_kind: 'api_key', actor_id: null, actor_api_key_id: key.id }, event: { kind: 'api_key', id: key.id, display: 'integration' } };
const asSystem: Actor = { ref: { actor_kind: 'system', actor_id: null, actor_api_key_id: null }, event: null };

/** Every shape a create can have: the fields an employee, staff or an API key may give, a null among them, each kind of actor. */
const shapes: [string, Actor, Record<string, unknown>][] = [
  ['an employee: the four required fields', asEmployee(alice), { employee_id: alice.id, subject: 'Laptop', category: 'Hardware', sub_category: 'Laptop', description: 'Broken hinge' }],
  ['an employee with a scheduled date', asEmployee(bob), { employee_id: bob.id, subject: 'Move desk', category: 'Hardware', sub_category: 'Desk', description: 'Floor 3', scheduled_date: '2027-01-15' }],
  ['staff: priority and department, for another employee', asEmployee(coord), { employee_id: alice.id, subject: 'Printer', category: 'Hardware', sub_category: 'Printer', description: 'Jam', priority: 'High', department: 'IT Department' }],
  ['staff: a null priority, an undefined department (left out)', asEmployee(coord), { employee_id: bob.id, subject: 'Mouse', category: 'Hardware', sub_category: 'Mouse', description: 'Dead', priority: null, department: undefined }],
  ['an API key', asKey, { employee_id: bob.id, subject: 'From a script', category: 'Software', sub_category: 'Other', description: 'Nightly job' }],
  ['the system, no event actor', asSystem, { employee_id: alice.id, subject: 'By the system', category: 'Other', sub_category: 'Other', description: 'Generated' }],
  ['text a PostgreSQL array literal must escape', asEmployee(alice), { employee_id: alice.id, subject: 'Quotes " and \\ backslash, {braces}, commas', category: 'Other', sub_category: 'NULL', description: '"NULL"\n\ttabs, ünïcödé ✓' }],
];
const defined = (v: Record<string, unknown>) => Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined));
const strip = (r: TicketRow) => {
  const { id, ticket_number, submit_date, update_date, ...rest } = r as unknown as Record<string, unknown>;
  void [id, ticket_number, submit_date, update_date];
  return rest;
};

/** What a create wrote besides its ticket: the history entry's actor and the event's actor, owner and snapshot. */
async function sideRows(ids: number[]) {
  const history = await db('ticket_history').whereIn('ticket_id', ids).orderBy('ticket_id').select('ticket_id', 'actor_kind', 'actor_id', 'actor_api_key_id', 'event', 'to_value');
  const events = await db('events')
    .whereIn('ticket_id', ids)
    .orderBy('ticket_id')
    .select('ticket_id', 'type', 'object_id', 'actor_kind', 'actor_id', 'actor_display', 'audience_employee_id', db.raw(`data->'object' AS object`));
  return { history, events };
}

t.test('every shape, all in one batch: each create gets its own row, as the transaction path writes it', async (t) => {
  const batcher = ticketCreateBatcher(db);
  const before = { ...batcher.stats };
  // one statement taken by a slow lock holds both slots busy, so every create below queues and goes in one batch
  const pooled = await withSlotsBusy(db, () => shapes.map(([, a, v]) => insertTicketWithHistory(db, v, a.ref, a.event)));
  t.equal(batcher.stats.statements - before.statements - 2, 1, 'the creates went in one statement');
  t.equal(batcher.stats.largest >= shapes.length, true, `a batch of ${shapes.length}`);
  const inTrx: TicketRow[] = [];
  for (const [, a, v] of shapes) inTrx.push(await db.transaction((trx) => insertTicketWithHistory(trx, v, a.ref, a.event)));
  const side = await sideRows([...pooled, ...inTrx].map((r) => r.id));
  shapes.forEach(([name, a, v], i) => {
    const row = pooled[i]!;
    for (const [field, want] of Object.entries(defined(v))) {
      const got = field === 'employee_id' ? (row as unknown as { owner_id: number }).owner_id : (row as unknown as Record<string, unknown>)[field];
      t.equal(got, want, `${name}: ${field} as given`);
    }
    t.same(strip(row), strip(inTrx[i]!), `${name}: the same row as the transaction path`);
    const [h] = side.history.filter((x) => Number(x.ticket_id) === row.id);
    t.same(h, { ticket_id: h?.ticket_id, ...a.ref, event: 'created', to_value: 'New' }, `${name}: the history entry's actor`);
    const evs = side.events.filter((x) => Number(x.ticket_id) === row.id);
    t.equal(evs.length, 1, `${name}: one ticket.created event`);
    t.match(evs[0], { type: 'ticket.created', object_id: row.ticket_number, actor_kind: a.event?.kind ?? null, actor_id: a.event?.id ?? null, actor_display: a.event?.display ?? null, audience_employee_id: v.employee_id }, `${name}: the event's actor and owner`);
    const [ev2] = side.events.filter((x) => Number(x.ticket_id) === inTrx[i]!.id);
    const snap = (o: Record<string, unknown>) => ({ ...o, id: 0, ticket_number: '', submit_date: '', update_date: '' });
    t.same(snap(evs[0].object), snap(ev2.object), `${name}: the event's snapshot as the transaction path writes it`);
  });
  // numbered in the order asked
  const numbers = pooled.map((r) => r.id);
  t.same(numbers, [...numbers].sort((x, y) => x - y), 'tickets of a batch are numbered in the order the creates came');
});

t.test('many creates at once: fewer statements than tickets, and nobody gets a neighbour’s ticket', async (t) => {
  const batcher = ticketCreateBatcher(db);
  const before = { ...batcher.stats };
  const owners = [alice, bob, coord];
  const asks = Array.from({ length: 120 }, (_, i) => ({ owner: owners[i % 3]!, actor: i % 4 === 0 ? asKey : asEmployee(owners[(i + 1) % 3]!), subject: `Concurrent ${i} ${Math.random()}` }));
  const rows = await Promise.all(asks.map((a) => insertTicketWithHistory(db, { employee_id: a.owner.id, subject: a.subject, category: 'Other', sub_category: 'Other', description: `for ${a.owner.id}` }, a.actor.ref, a.actor.event)));
  const statements = batcher.stats.statements - before.statements;
  t.equal(batcher.stats.tickets - before.tickets, 120, 'every create written by the batcher');
  t.ok(statements < 120, `120 creates in ${statements} statements`);
  t.ok(batcher.stats.largest <= MAX_BATCH, `no batch above ${MAX_BATCH}`);
  asks.forEach((a, i) => {
    t.equal(rows[i]!.subject, a.subject, `create ${i}: its own subject`);
    t.equal(rows[i]!.owner_id, a.owner.id, `create ${i}: its own owner`);
  });
  t.equal(new Set(rows.map((r) => r.ticket_number)).size, 120, 'every ticket number distinct');
  const side = await sideRows(rows.map((r) => r.id));
  t.equal(side.history.length, 120, 'one history entry each');
  t.equal(side.events.length, 120, 'one event each');
  asks.forEach((a, i) => {
    const id = rows[i]!.id;
    t.match(side.history.find((h) => Number(h.ticket_id) === id), a.actor.ref, `create ${i}: its history actor`);
    const ev = side.events.find((e) => Number(e.ticket_id) === id);
    t.match(ev, { actor_kind: a.actor.event!.kind, actor_id: a.actor.event!.id, audience_employee_id: a.owner.id }, `create ${i}: its event actor and owner`);
    t.equal(ev?.object.subject, a.subject, `create ${i}: its event's snapshot`);
  });
});

t.test('a create whose data fails fails alone; its batch neighbours are written once', async (t) => {
  const batcher = ticketCreateBatcher(db);
  const good = (i: number) => ({ employee_id: alice.id, subject: `Neighbour ${i} ${Math.random()}`, category: 'Other', sub_category: 'Other', description: 'fine' });
  const a = asEmployee(alice);
  for (const [name, bad, code] of [
    ['an owner that does not exist (foreign key)', { ...good(99), employee_id: 2_000_000_000 }, '23503'],
    ['a date PostgreSQL refuses', { ...good(98), scheduled_date: '2027-02-30' }, '22008'],
  ] as const) {
    const before = { ...batcher.stats };
    const results = await withSlotsBusy(db, () => [0, 1, 2, 3].map((i) => insertTicketWithHistory(db, i === 2 ? bad : good(i), a.ref, a.event)).map((p) => p.then((r) => ({ ok: r }), (e: unknown) => ({ err: e as { code?: string } }))));
    t.equal(batcher.stats.failed - before.failed, 2, `${name}: the batch of four failed, then the bad create alone`);
    t.equal(batcher.stats.statements - before.statements - 2, 3, `${name}: the three good creates written one by one`);
    t.equal((results[2] as { err?: { code?: string } }).err?.code, code, `${name}: that create fails with ${code}`);
    for (const i of [0, 1, 3]) {
      const r = results[i] as { ok?: TicketRow };
      t.ok(r.ok, `${name}: neighbour ${i} is created`);
      t.equal(Number((await db('tickets').where({ subject: r.ok!.subject }).count({ n: '*' }))[0]!.n), 1, `${name}: neighbour ${i} is written once`);
    }
  }
});

t.test('any other failure is every create’s answer, and nothing is retried', async (t) => {
  // a statement PostgreSQL refuses for a reason no row holds (an unknown column): class 42
  const broken = new CreateBatcher(db, { select: CREATE_SQL.select, snapshot: `jsonb_build_object('nope', ins.no_such_column)` }, 1);
  const before = await db('tickets').count({ n: '*' });
  const a = asEmployee(bob);
  const results = await Promise.allSettled([1, 2, 3].map((i) => broken.create({ values: { employee_id: bob.id, subject: `Broken ${i}`, category: 'Other', sub_category: 'Other', description: 'x' }, actor: a.ref, eventActor: a.event })));
  t.same(results.map((r) => r.status), ['rejected', 'rejected', 'rejected'], 'every create rejected');
  t.same(results.map((r) => (r as PromiseRejectedResult).reason.code), ['42703', '42703', '42703'], 'with the database’s error');
  t.same(broken.stats, { statements: 0, tickets: 0, largest: 0, failed: 2 }, 'the first alone, the two that queued behind it together: neither retried');
  t.same(await db('tickets').count({ n: '*' }), before, 'nothing written');
});

t.test('an idle server sends each create at once, alone', async (t) => {
  const lone = new CreateBatcher(db, CREATE_SQL);
  const a = asEmployee(alice);
  for (let i = 0; i < 3; i++) await lone.create({ values: { employee_id: alice.id, subject: `Alone ${i}`, category: 'Other', sub_category: 'Other', description: 'x' }, actor: a.ref, eventActor: a.event });
  t.same(lone.stats, { statements: 3, tickets: 3, largest: 1, failed: 0 });
});

t.test('creates stuck on a lock do not hold every other create', async (t) => {
  // bob's row locked as an erasure would: a create for bob waits in its foreign-key check
  const holder = await db.client.acquireConnection();
  t.teardown(async () => {
    await holder.query('ROLLBACK').catch(() => undefined);
    await db.client.releaseConnection(holder);
  });
  await holder.query('BEGIN');
  await holder.query('SELECT 1 FROM employees WHERE id = $1 FOR UPDATE', [bob.id]);
  const a = asEmployee(bob);
  const stuck = [0, 1, 2].map((i) => insertTicketWithHistory(db, { employee_id: bob.id, subject: `Stuck ${i}`, category: 'Other', sub_category: 'Other', description: 'x' }, a.ref, a.event));
  await waitFor(async () => Number((await db.raw(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows[0].n) >= 2);
  const b = asEmployee(alice);
  const free = insertTicketWithHistory(db, { employee_id: alice.id, subject: 'Not stuck', category: 'Other', sub_category: 'Other', description: 'x' }, b.ref, b.event);
  const first = await Promise.race([free.then(() => 'written'), new Promise((r) => setTimeout(() => r('still waiting'), 20_000))]);
  t.equal(first, 'written', "alice's create is written while bob's wait on the lock");
  let settled = false;
  void Promise.allSettled(stuck).then(() => (settled = true));
  await new Promise((r) => setTimeout(r, 50));
  t.notOk(settled, "bob's creates are still waiting");
  await holder.query('COMMIT');
  t.same((await Promise.all(stuck)).map((r) => r.subject), ['Stuck 0', 'Stuck 1', 'Stuck 2'], "then bob's are written");
});

t.test('the statement binds its arrays in the order they are given, and has one text for any batch', async (t) => {
  const sql = createBatchSql(db, CREATE_SQL);
  t.match(sql, /unnest\(\$1::bigint\[\], \$2::text\[\][^)]*\$14::text\[\]\) WITH ORDINALITY/);
  t.notMatch(sql, /\$15\b/, 'fourteen arrays, nothing else bound');
  t.throws(() => createBatchSql(db, { select: (d) => CREATE_SQL.select(d).where('t.subject', 'x'), snapshot: CREATE_SQL.snapshot }), /binds its arrays in another order/, 'a statement with a value of its own is refused');
});

/**
 * Runs `start` while both of the pool batcher's slots are held by creates that wait on a lock, so
 * every create `start` makes queues and goes in the next statement together.
 */
async function withSlotsBusy<T>(db: Knex, start: () => Promise<T>[]): Promise<T[]> {
  const holder = await db.client.acquireConnection();
  try {
    await holder.query('BEGIN');
    // inserts take ROW EXCLUSIVE, which this waits for and holds off: the two blockers wait here
    await holder.query('LOCK TABLE ticket_history IN SHARE ROW EXCLUSIVE MODE');
    const a = asEmployee(coord);
    const blockers = [0, 1].map((i) => insertTicketWithHistory(db, { employee_id: coord.id, subject: `Blocker ${i} ${Math.random()}`, category: 'Other', sub_category: 'Other', description: 'x' }, a.ref, a.event));
    await waitFor(async () => Number((await db.raw(`SELECT count(*) AS n FROM pg_locks WHERE relation = 'ticket_history'::regclass AND NOT granted`)).rows[0].n) === 2);
    const queued = start();
    await holder.query('COMMIT');
    await Promise.all(blockers);
    return await Promise.all(queued);
  } finally {
    await holder.query('ROLLBACK').catch(() => undefined);
    await db.client.releaseConnection(holder);
  }
}

async function waitFor(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('timed out waiting');
}
