/**
 * New events wake listeners with a NOTIFY sent AFTER the writing transaction commits, by the
 * process, not by the trigger inside the transaction (which made PostgreSQL serialise every
 * ticket write's commit: migrations/20261202400000_events_notify_after_commit.ts,
 * src/db/event-notify.ts). Other writers (no session setting) still NOTIFY from the trigger.
 */
import pg from 'pg';
import t from 'tap';
import { NOTIFY_MIN_GAP_MS } from '../src/db/event-notify.js';
import { recordEvent } from '../src/features/events/events.js';
import { startTestApp } from './helpers/harness.js';

const EVENT = { type: 'ticket.updated' as const, actor: { kind: 'system' as const, id: null, display: null }, object: { type: 'ticket', id: 'TX0001' }, staff_only: true, data: {} };
const INSERT = `INSERT INTO events (type, object_type, object_id, visibility) VALUES ('ticket.updated', 'ticket', '1', 'staff')`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('events NOTIFY after commit from the app, from the trigger for other writers', async (t) => {
  const ta = await startTestApp(t);
  const directUrl = ta.config.databaseDirectUrl ?? ta.config.databaseUrl!;
  const listener = new pg.Client({ connectionString: directUrl });
  await listener.connect();
  t.teardown(() => listener.end());
  const got: number[] = [];
  listener.on('notification', (n) => {
    if (n.channel === 'smartsupport_events') got.push(Date.now());
  });
  await listener.query('LISTEN smartsupport_events');
  const waitFor = async (n: number, ms = 5000) => {
    for (const end = Date.now() + ms; got.length < n && Date.now() < end; ) await sleep(20);
    return got.length;
  };

  const pooled = Boolean(process.env.SS_TEST_PGBOUNCER_URL);
  await t.test("the app's transaction does not NOTIFY itself; the process does after COMMIT", async (t) => {
    got.length = 0;
    let committedAt = 0;
    await ta.db.transaction(async (trx) => {
      const setting = (await trx.raw(`SELECT current_setting('smartsupport.notify_after_commit', true) AS v`)).rows[0].v;
      // through a transaction pooler the session setting is not used (it would leak between clients)
      t.equal(setting, pooled ? null : 'on', 'app connections defer the NOTIFY (direct connections)');
      await recordEvent(trx, EVENT);
      await sleep(300);
      t.equal(got.length, 0, 'nothing before the commit');
    });
    committedAt = Date.now();
    t.equal(await waitFor(1), 1, 'one notification after the commit');
    t.ok(got[0]! >= committedAt - 5, 'sent after the transaction ended');
  });

  await t.test('many concurrent writes: coalesced, none lost at the end', async (t) => {
    got.length = 0;
    await Promise.all(Array.from({ length: 30 }, () => recordEvent(ta.db, EVENT)));
    const before = Date.now();
    t.ok((await waitFor(1)) >= 1, 'at least one notification');
    await sleep(300);
    t.ok(got.length <= 30, `coalesced (${got.length} for 30 writes)`);
    t.ok(got[got.length - 1]! >= before - 1000, 'the last notification follows the last write');
  });

  await t.test('a stream of writes: one NOTIFY per gap at most, and one after the last write', async (t) => {
    if (pooled) return t.pass('through a transaction pooler the trigger NOTIFYs inside each transaction');
    got.length = 0;
    const start = Date.now();
    let writes = 0;
    // one write after another for 400 ms: far more writes than gaps
    while (Date.now() - start < 400) {
      await recordEvent(ta.db, EVENT);
      writes++;
    }
    const lastWrite = Date.now();
    await sleep(NOTIFY_MIN_GAP_MS * 5 + 300);
    const limit = Math.ceil((lastWrite - start) / NOTIFY_MIN_GAP_MS) + 2;
    t.ok(got.length >= 1 && got.length <= limit, `${got.length} notifications for ${writes} writes in ${lastWrite - start} ms (at most ${limit})`);
    t.ok(writes > got.length, 'fewer notifications than writes');
    t.ok(got[got.length - 1]! >= lastWrite - 5, 'the last notification follows the last write');
  });

  await t.test('a writer without the setting (psql, an older release) still NOTIFYs from the trigger', async (t) => {
    got.length = 0;
    const other = new pg.Client({ connectionString: directUrl });
    await other.connect();
    t.teardown(() => other.end());
    await other.query(INSERT);
    t.equal(await waitFor(1), 1, 'notified');
    // and with the setting but no process to send it, the trigger only raises a NOTICE
    got.length = 0;
    const notices: string[] = [];
    other.on('notice', (m) => notices.push(m.message ?? ''));
    await other.query(`SET smartsupport.notify_after_commit = 'on'`);
    await other.query(INSERT);
    await sleep(500);
    t.equal(got.length, 0, 'the trigger did not NOTIFY');
    t.same(notices, ['smartsupport_events_written'], 'it raised the NOTICE the app listens for');
  });
});
