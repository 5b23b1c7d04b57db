/**
 * INBOUND_LMTP=true: the receiver speaks LMTP (LHLO, one reply per recipient) for an MTA that
 * delivers over LMTP; the message is stored once whatever the number of recipients.
 */
import nodemailer from 'nodemailer';
import t from 'tap';
import { startSmtpReceiver } from '../src/features/email/smtp-receiver.js';
import { createEmployee, startTestApp } from './helpers/harness.js';
import { waitFor } from './helpers/outbound.js';

t.test('LMTP: one answer per recipient, the message stored once and processed', async (t) => {
  const ta = await startTestApp(t, { worker: true, env: { INBOUND_LMTP: 'true', INBOUND_ADDRESS: 'helpdesk@example.com' } });
  t.equal(ta.app.config.inbound.lmtp, true);
  const rx = await startSmtpReceiver(ta.app, { port: 0, host: '127.0.0.1' });
  t.teardown(() => rx.close());
  await createEmployee(ta.db, { email: 'lena@corp.test' });

  const tr = nodemailer.createTransport({ host: '127.0.0.1', port: rx.port, lmtp: true, secure: false, ignoreTLS: true });
  t.teardown(() => tr.close());
  const info = await tr.sendMail({ from: 'lena@corp.test', to: ['helpdesk@example.com', 'it@example.com'], subject: 'Printer jams on floor 3', messageId: '<lmtp-1@corp.test>', text: 'Every second page.' });
  t.same([...info.accepted].sort(), ['helpdesk@example.com', 'it@example.com'], 'each recipient answered 250');
  t.same(info.rejected, []);

  const rows = await ta.db('inbound_emails').where({ message_id: 'lmtp-1@corp.test' });
  t.equal(rows.length, 1, 'stored once for both recipients');
  t.same([...rows[0].envelope_to].sort(), ['helpdesk@example.com', 'it@example.com']);
  const done = await waitFor(async () => ta.db('inbound_emails').where({ id: rows[0].id }).whereNot({ status: 'received' }).first(), 'processed');
  t.equal(done.outcome, 'ticket_created');
  t.ok(await ta.db('tickets').where({ subject: 'Printer jams on floor 3' }).first(), 'the ticket exists');

  // a plain SMTP client is refused by an LMTP receiver (no HELO/EHLO): the mode really is LMTP
  const smtp = nodemailer.createTransport({ host: '127.0.0.1', port: rx.port, secure: false, ignoreTLS: true });
  t.teardown(() => smtp.close());
  const refused = await smtp.sendMail({ from: 'lena@corp.test', to: 'helpdesk@example.com', subject: 'x', text: 'y' }).then(
    () => undefined,
    (e: { responseCode?: number }) => e.responseCode,
  );
  t.ok(refused !== undefined && refused >= 500, `SMTP greeting refused by the LMTP receiver (${refused})`);
});
