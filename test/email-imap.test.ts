/**
 * IMAP intake against a real Dovecot (started here from Debian's dovecot-imapd): mail appended
 * over IMAP is stored, processed by the worker and flagged (or moved); nothing is taken twice;
 * IDLE picks up new mail during a session; the poll queue runs one session for the cluster.
 */
import { ImapFlow } from 'imapflow';
import t from 'tap';
import { imapSession, PROCESSED_KEYWORD } from '../src/features/email/imap-poller.js';
import { QUEUES } from '../src/jobs/queues.js';
import { DOVECOT_BIN, startDovecot } from './helpers/dovecot.js';
import { createEmployee, startTestApp } from './helpers/harness.js';
import { newMessageId } from './helpers/mail.js';
import { waitFor } from './helpers/outbound.js';

if (!DOVECOT_BIN) {
  t.comment('SKIP: dovecot is not installed (apt-get install dovecot-imapd; .ci/run installs it) — IMAP intake not tested here');
  t.pass('skipped: no dovecot');
} else {
  t.test('IMAP polling against Dovecot', async (t) => {
    const dv = (await startDovecot(t, { helpdesk: 'imap-secret' }))!;
    // the app's own periodic poll stays off (no INBOUND_IMAP_URL): the test drives the sessions
    const ta0 = await startTestApp(t, { env: { INBOUND_ADDRESS: 'helpdesk@example.com', INBOUND_IMAP_FOLDER: 'INBOX', INBOUND_IMAP_IDLE_SECONDS: '1' }, worker: true });
    const ta = { ...ta0, app: { ...ta0.app, config: { ...ta0.app.config, inbound: { ...ta0.app.config.inbound, imapUrl: dv.url('helpdesk') } } } };
    const employee = await createEmployee(ta.db, { email: 'gina@corp.test' });

    const client = new ImapFlow({ host: '127.0.0.1', port: dv.port, secure: false, auth: { user: 'helpdesk', pass: 'imap-secret' }, logger: false });
    await client.connect();
    t.teardown(() => client.logout().catch(() => undefined));
    const mail = (from: string, subject: string, id: string, body: string) =>
      `From: ${from}\r\nTo: helpdesk@example.com\r\nSubject: ${subject}\r\nMessage-ID: ${id}\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n\r\n${body}\r\n`;
    const processed = (id: string) => waitFor(async () => ta.db('inbound_emails').where({ message_id: id.slice(1, -1) }).whereNot({ status: 'received' }).first(), `${id} processed`);

    const a = newMessageId('imap-a');
    const b = newMessageId('imap-b');
    await client.append('INBOX', mail('gina@corp.test', 'Monitor flickers', a, 'Since this morning.'));
    await client.append('INBOX', mail('stranger@else.test', 'Hello', b, 'Who are you?'));

    const run1 = await imapSession(ta.app, { idleMs: 0 });
    t.same(run1, { stored: 2, duplicates: 0, tooLarge: 0 }, 'both messages stored');
    const ra = await processed(a);
    t.equal(ra.source, 'imap');
    t.equal(ra.outcome, 'ticket_created');
    t.equal(Number((await ta.db('tickets').where({ id: ra.ticket_id }).first()).employee_id), employee.id);
    t.equal((await processed(b)).status, 'quarantined', 'unknown sender quarantined');

    const lock = await client.getMailboxLock('INBOX');
    try {
      t.same(await client.search({ unKeyword: PROCESSED_KEYWORD }, { uid: true }), [], 'every message flagged as processed');
      t.same(await client.search({ seen: false }, { uid: true }), [], 'and marked seen');
    } finally {
      lock.release();
    }
    t.same(await imapSession(ta.app, { idleMs: 0 }), { stored: 0, duplicates: 0, tooLarge: 0 }, 'a second session takes nothing');

    // a crash after storing but before flagging: the message is seen again and recognised as a duplicate
    const lock2 = await client.getMailboxLock('INBOX');
    try {
      const [first] = (await client.search({ header: { 'message-id': a.slice(1, -1) } }, { uid: true })) || [];
      await client.messageFlagsRemove(String(first), [PROCESSED_KEYWORD], { uid: true });
    } finally {
      lock2.release();
    }
    t.same(await imapSession(ta.app, { idleMs: 0 }), { stored: 0, duplicates: 1, tooLarge: 0 }, 'the unflagged message is a duplicate, not a new ticket');
    t.equal((await ta.db('tickets').where({ subject: 'Monitor flickers' })).length, 1, 'still one ticket');

    await t.test('IDLE: new mail is taken in while the session waits', async (t) => {
      const c = newMessageId('imap-idle');
      let ended = false;
      const session = imapSession(ta.app, { idleMs: 20_000 }).finally(() => (ended = true));
      // wait until the session is idling (it has drained the empty mailbox), then deliver
      await new Promise((r) => setTimeout(r, 500));
      await client.append('INBOX', mail('gina@corp.test', 'Keyboard missing keys', c, 'The Q key fell off.'));
      const row = await processed(c);
      t.equal(row.outcome, 'ticket_created');
      t.equal(ended, false, 'taken in by the running session (IDLE), not by a later poll');
      const run = await session;
      t.equal(run.stored, 1);
    });

    await t.test('move mode: processed mail goes to another folder', async (t) => {
      const d = newMessageId('imap-move');
      await client.append('INBOX', mail('gina@corp.test', 'Mouse', d, 'Double clicks.'));
      const moving = { ...ta.app, config: { ...ta.app.config, inbound: { ...ta.app.config.inbound, imapMoveTo: 'Processed' } } };
      const run = await imapSession(moving, { idleMs: 0 });
      t.equal(run.stored, 1, 'the new message (the flagged ones are duplicates)');
      t.equal((await processed(d)).outcome, 'ticket_created');
      const lock = await client.getMailboxLock('INBOX');
      try {
        await client.noop(); // take in the other session's expunges
        t.same(await client.search({ all: true }, { uid: true }), [], 'INBOX emptied');
      } finally {
        lock.release();
      }
      const moved = await client.status('Processed', { messages: true });
      t.ok(moved && moved.messages! >= 4, 'all moved to Processed');
    });

    await t.test('the poll queue holds one session for the whole cluster', async (t) => {
      // stately queue: at most one active and one queued job, whoever sends them
      const sent = await Promise.all([1, 2, 3].map(() => ta.app.boss.send(QUEUES.imapPoll, {})));
      t.ok(sent.filter(Boolean).length < 3, `polls refused while one waits (${sent.filter(Boolean).length} of 3 queued)`);
      const active = await ta.db.raw(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = ? AND state = 'active'`, [QUEUES.imapPoll]);
      t.ok(active.rows[0].n <= 1, 'never two sessions at once');
    });
  });
}
