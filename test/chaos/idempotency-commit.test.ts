/**
 * Chaos: an Idempotency-Key's outcome is recorded in the same transaction as the handler's write
 * (src/http/idempotency.ts `answerInTransaction`), so a crash or an outage can never leave "the
 * action happened" without "its answer is stored" — or the reverse.
 *
 * - kill: the API process SIGKILLs itself right after its handler's transaction committed and
 *   before the middleware's own code runs (test-only fault point `idempotency-after-handler`,
 *   src/lib/faults.ts). A fresh process then answers the retry with the original response
 *   (`Idempotent-Replayed: true`), and the action happened exactly once — for a ticket create, a
 *   comment, a claim (a status change) and a self-registration. Before the in-transaction
 *   record, the key stayed `running`, and the retry after its lease ran the action again.
 * (The outage and rollback paths: idempotency-outage.test.ts.)
 * Needs the build.
 */
import t from 'tap';
import { createKnex } from '../../src/db/knex.js';
import { createEmployee, createTestDatabase } from '../helpers/harness.js';
import { insertTicket, waitFor } from '../helpers/outbound.js';
import { built, spawnService, tokenFor, poster } from './lib.js';

if (!built) t.fail('dist/ is missing: run `npm run build` before `npm test`');

const PW = 'blue-harbor-lantern-42';

t.test('a kill between the commit and the middleware: the retry replays the original answer, the action ran once', async (t) => {
  const { url: databaseUrl } = await createTestDatabase(t);
  const db = createKnex(databaseUrl, 3);
  t.teardown(() => db.destroy());
  const env = { DATABASE_URL: databaseUrl, SMARTSUPPORT_DATA_DIR: (await import('node:os')).tmpdir(), RUN_WORKER: 'false', SMTP_URL: '' };
  const owner = await createEmployee(db);
  const agent = await createEmployee(db, { role: 'Ticket Coordinator' });
  const ownerToken = await tokenFor(owner);
  const agentToken = await tokenFor(agent);
  const commented = await insertTicket(db, owner.id, { subject: 'to comment' });
  const claimable = await insertTicket(db, owner.id, { subject: 'to claim', assigned_to: null });
  const email = `kill.${Date.now()}@example.com`;

  const count = async (q: Promise<{ n: string | number }[]>) => Number((await q)[0]!.n);
  const cases = [
    {
      name: 'ticket create',
      path: '/api/tickets/',
      body: { subject: 'kill-after-commit', category: 'Hardware', sub_category: 'Laptop', description: 'cut after the commit' },
      token: ownerToken,
      status: 201,
      effects: () => count(db('tickets').where({ subject: 'kill-after-commit' }).count({ n: '*' })),
    },
    {
      name: 'comment',
      path: `/api/tickets/${commented.ticket_number}/comments/`,
      body: { comment: 'said once' },
      token: ownerToken,
      status: 201,
      effects: () => count(db('ticket_comments').where({ ticket_id: commented.id, comment: 'said once' }).count({ n: '*' })),
    },
    {
      name: 'claim (a status change)',
      path: `/api/tickets/${claimable.ticket_number}/claim/`,
      body: {},
      token: agentToken,
      status: 200,
      effects: () => count(db('ticket_history').where({ ticket_id: claimable.id, event: 'assigned' }).count({ n: '*' })),
    },
    {
      name: 'self-registration',
      path: '/api/create_employee/',
      body: { first_name: 'Kim', last_name: 'Once', department: 'IT Department', email, password: PW, confirm_password: PW },
      token: undefined,
      status: 201,
      effects: () => count(db('employees').where({ email }).count({ n: '*' })),
    },
  ];

  // one doomed API process per operation (each kills itself at its first commit), side by side
  await Promise.all(
    cases.map(async (c) => {
      const key = `kill-${c.name}`;
      const doomed = spawnService(t, ['serve', '--no-worker'], { ...env, SMARTSUPPORT_TEST_FAULT: 'idempotency-after-handler' });
      const url = await doomed.url;
      const cut = await poster(() => url)(c.path, key, c.body, c.token).then((r) => r.status, (err: Error) => err.name);
      t.equal(cut, 'TypeError', `${c.name}: the client got no answer`);
      t.same(await doomed.exited, { code: null, signal: 'SIGKILL' }, `${c.name}: the API killed itself after the commit`);
      t.equal(await c.effects(), 1, `${c.name}: the action committed`);
      // what a retry after the claim's lease sees (its owner is dead): end the lease now instead of waiting 30 s
      await db('idempotency_keys').where({ key }).update({ lease_until: db.raw(`now() - interval '1 second'`) });
    }),
  );

  const fresh = spawnService(t, ['serve', '--no-worker'], env);
  const url = await fresh.url;
  for (const c of cases) {
    const key = `kill-${c.name}`;
    const r = await poster(() => url)(c.path, key, c.body, c.token);
    const body = (await r.json()) as Record<string, unknown>;
    t.equal(r.status, c.status, `${c.name}: the retry got the original status (${JSON.stringify(body).slice(0, 200)})`);
    t.equal(r.headers.get('idempotent-replayed'), 'true', `${c.name}: the retry is a replay`);
    t.equal(await c.effects(), 1, `${c.name}: the action ran exactly once`);
    if (c.name === 'ticket create') {
      const row = await db('tickets').where({ subject: 'kill-after-commit' }).first('id', 'ticket_number');
      t.equal(body.id, row.id, 'the replayed ticket is the one that was created');
      t.equal(r.headers.get('location'), `/api/tickets/${row.ticket_number}/`, 'with its Location');
      t.ok(r.headers.get('etag'), 'and its ETag');
    }
    if (c.name === 'claim (a status change)') t.equal((body as { assigned_to?: { id?: number } }).assigned_to?.id ?? body.assignee_id ?? agent.id, agent.id);
  }
  t.equal(await count(db('idempotency_keys').where({ state: 'running' }).count({ n: '*' })), 0, 'no key is left running');
  fresh.child.kill('SIGTERM');
  t.same(await fresh.exited, { code: 0, signal: null });
});
