/**
 * Ticket create on the pool runs from a statement compiled once per set of fields given
 * (createTemplate in src/features/tickets/ticket-store.ts, src/db/statement-template.ts): the values
 * are put into a cached text. For every shape a create can have (the fields an employee, staff or
 * an API key may give, a null among them, each kind of actor, with and without the event), the
 * statement must equal the same create compiled afresh — called twice with other values, so the
 * second goes through the cache — and the rows written must be the ones asked for, as the
 * transaction path (compiled afresh) writes them. A value frozen into the cached text (the first
 * caller's owner or subject on every later ticket) or dropped from it fails here.
 */
import t from 'tap';
import type { Knex } from 'knex';
import { createStatement, createTemplate, insertTicketWithHistory } from '../src/features/tickets/ticket-store.js';
import type { ActorRef } from '../src/features/tickets/ticket-model.js';
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

/** Two value sets of one shape: the second call must not see the first one's values. */
const shapes: [string, Actor, Actor, Record<string, unknown>, Record<string, unknown>][] = [
  [
    'an employee: the four required fields',
    asEmployee(alice),
    asEmployee(bob),
    { employee_id: alice.id, subject: 'Laptop', category: 'Hardware', sub_category: 'Laptop', description: 'Broken hinge' },
    { employee_id: bob.id, subject: 'VPN', category: 'Network', sub_category: 'VPN', description: 'No tunnel' },
  ],
  [
    'an employee with a scheduled date',
    asEmployee(bob),
    asEmployee(alice),
    { employee_id: bob.id, subject: 'Move desk', category: 'Hardware', sub_category: 'Desk', description: 'Floor 3', scheduled_date: '2027-01-15' },
    { employee_id: alice.id, subject: 'Install', category: 'Software', sub_category: 'Office', description: 'Office suite', scheduled_date: '2027-02-01' },
  ],
  [
    'staff: priority and department, for another employee',
    asEmployee(coord),
    asEmployee(coord),
    { employee_id: alice.id, subject: 'Printer', category: 'Hardware', sub_category: 'Printer', description: 'Jam', priority: 'High', department: 'IT Department' },
    { employee_id: bob.id, subject: 'Budget tool', category: 'Software', sub_category: 'Other', description: 'Crash', priority: 'Low', department: 'Budget Department' },
  ],
  [
    'staff: a null priority, an undefined department (left out)',
    asEmployee(coord),
    asEmployee(coord),
    { employee_id: alice.id, subject: 'Mouse', category: 'Hardware', sub_category: 'Mouse', description: 'Dead', priority: null, department: undefined },
    { employee_id: bob.id, subject: 'Screen', category: 'Hardware', sub_category: 'Monitor', description: 'Flicker', priority: null, department: undefined },
  ],
  [
    'an API key',
    asKey,
    asKey,
    { employee_id: bob.id, subject: 'From a script', category: 'Software', sub_category: 'Other', description: 'Nightly job' },
    { employee_id: alice.id, subject: 'Second script', category: 'Network', sub_category: 'Other', description: 'Hourly job' },
  ],
  [
    'the system, no event actor',
    asSystem,
    asSystem,
    { employee_id: alice.id, subject: 'By the system', category: 'Other', sub_category: 'Other', description: 'Generated' },
    { employee_id: bob.id, subject: 'Again the system', category: 'Software', sub_category: 'Other', description: 'Generated too' },
  ],
];

const eventValues = (a: Actor) => [a.event?.kind ?? null, a.event?.id ?? null, a.event?.display ?? null];
const defined = (v: Record<string, unknown>) => Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined));

t.test('every shape: the statement equals a fresh compile, the second time through the cache', async (t) => {
  for (const [name, a1, a2, v1, v2] of shapes) {
    for (const event of [true, false]) {
      for (const [a, v] of [
        [a1, v1],
        [a2, v2],
      ] as const) {
        const fresh = createStatement(db, defined(v), a.ref, eventValues(a), event).toSQL().toNative();
        const templated = createTemplate(db, v, a.ref, eventValues(a), event);
        t.equal(templated.sql, fresh.sql, `${name}${event ? '' : ', without the event'}: the text`);
        t.same(templated.bindings, fresh.bindings, `${name}${event ? '' : ', without the event'}: the values, in order`);
      }
    }
  }
});

t.test('the rows written: as asked, and as the transaction path writes them', async (t) => {
  for (const [name, a1, a2, v1, v2] of shapes) {
    for (const [a, v] of [
      [a1, v1],
      [a2, v2],
    ] as const) {
      const pooled = await insertTicketWithHistory(db, v, a.ref, a.event);
      const inTrx = await db.transaction((trx) => insertTicketWithHistory(trx, v, a.ref, a.event));
      for (const [field, want] of Object.entries(defined(v))) {
        const got = field === 'employee_id' ? (pooled as unknown as { owner_id: number }).owner_id : (pooled as unknown as Record<string, unknown>)[field];
        t.equal(got, want, `${name}: ${field} as given`);
      }
      const strip = (r: Record<string, unknown>) => {
        const { id, ticket_number, submit_date, update_date, ...rest } = r;
        void [id, ticket_number, submit_date, update_date];
        return rest;
      };
      t.same(strip(pooled as unknown as Record<string, unknown>), strip(inTrx as unknown as Record<string, unknown>), `${name}: the same row as the transaction path`);
      const history = await db('ticket_history').whereIn('ticket_id', [pooled.id, inTrx.id]).orderBy('ticket_id').select('actor_kind', 'actor_id', 'actor_api_key_id', 'event', 'to_value');
      t.same(history, [0, 1].map(() => ({ ...a.ref, event: 'created', to_value: 'New' })), `${name}: the history entry's actor`);
      const events = await db('events').whereIn('ticket_id', [pooled.id, inTrx.id]).orderBy('ticket_id').select('type', 'actor_kind', 'actor_id', 'actor_display', 'audience_employee_id', db.raw(`data->'object'->>'subject' AS subject`));
      const want = { type: 'ticket.created', actor_kind: a.event?.kind ?? null, actor_id: a.event?.id ?? null, actor_display: a.event?.display ?? null, audience_employee_id: v.employee_id, subject: v.subject };
      t.same(events, [want, want], `${name}: the event's actor, owner and snapshot`);
    }
  }
});

t.test('a value left in the text of a template is refused', async (t) => {
  const { statementTemplate } = await import('../src/db/statement-template.js');
  t.throws(
    () =>
      statementTemplate('inlined\nx', [5, 'x'], (v) =>
        db('tickets')
          .select('id')
          .where('employee_id', v[0] as string)
          .whereRaw(`subject <> '${String(v[1])}'`)
          .where('category', v[1] as string)
          .toSQL()
          .toNative(),
      ),
    /is part of its text/,
  );
});
