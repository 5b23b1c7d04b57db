/** Emails: rendered, sent through a real SMTP server (or the outbox), logged, never twice. */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { emailHandler } from '../src/features/notifications/email-worker.js';
import { createMailer } from '../src/features/notifications/mailer.js';
import { queueEmail, type EmailRequest, type EmailTemplate } from '../src/features/notifications/notification-outbox.js';
import { renderEmail } from '../src/features/notifications/templates.js';
import { createApiKey, signedIn, startTestApp } from './helpers/harness.js';
import { decodeHeader, readMime, startSmtp, waitFor } from './helpers/outbound.js';

const PUBLIC_URL = 'https://help.example.com';

t.test('SMTP: every template goes out with the right recipient, subject, text and HTML', async (t) => {
  const smtp = await startSmtp(t);
  const ta = await startTestApp(t, { env: { SMTP_URL: smtp.url, MAIL_FROM: 'Help Desk <help@example.com>', PUBLIC_URL } });
  const messages: EmailRequest[] = [
    { template: 'account_pending', to: 'ana@example.com', data: { first_name: 'Ana', last_name: 'Lopez', company_id: 'MA0007' } },
    { template: 'account_approved', to: 'ana@example.com', data: { first_name: 'Ana', last_name: 'Lopez', company_id: 'MA0007', login_url: `${PUBLIC_URL}/login` } },
    { template: 'account_rejected', to: 'bo@example.com', data: { first_name: 'Bo', last_name: 'Ng', reason: 'Not an employee' } },
    { template: 'account_created', to: 'cy@example.com', data: { first_name: 'Cy', last_name: 'Ode', company_id: 'MA0009', role: 'Employee', set_password_url: `${PUBLIC_URL}/set-password?token=abc` } },
    { template: 'password_reset', to: 'di@example.com', data: { first_name: 'Di', reset_url: `${PUBLIC_URL}/reset?token=xyz`, expires_minutes: 30 } },
    { template: 'ticket_status_changed', to: 'ed@example.com', data: { first_name: 'Ed', ticket_number: 'TX0042', subject: 'Printer jam', from_status: 'Open', to_status: 'Resolved', comment: 'Replaced the roller.' } },
    { template: 'ticket_commented', to: 'ed@example.com', data: { first_name: 'Ed', ticket_number: 'TX0042', subject: 'Printer jam', commenter_name: 'Fay Tech', comment: 'On my way <b>now</b>' } },
  ];
  const ids: number[] = [];
  await ta.db.transaction(async (trx) => {
    for (const m of messages) ids.push(await queueEmail(trx, ta.app.jobs, m as EmailRequest<EmailTemplate>));
  });
  await ta.startWorkers();
  await waitFor(async () => smtp.mails.length === messages.length, 'all mails received');
  // the worker records a send once the SMTP server has answered it, a moment after the server holds
  // the mail: wait for the record too, or a busy machine reads a row that is still queued
  await waitFor(async () => Number((await ta.db('notifications').whereIn('id', ids).whereNot({ status: 'queued' }).count({ n: '*' }))[0]!.n) === messages.length, 'every send recorded');

  const expectations: Record<string, { subject: RegExp; names: string[]; links: string[] }> = {
    account_pending: { subject: /awaiting approval/, names: ['Ana Lopez', 'MA0007'], links: [] },
    account_approved: { subject: /approved/, names: ['Ana Lopez', 'MA0007'], links: [`${PUBLIC_URL}/login`] },
    account_rejected: { subject: /not approved/, names: ['Bo Ng', 'Not an employee'], links: [] },
    account_created: { subject: /created/, names: ['Cy Ode', 'MA0009'], links: [`${PUBLIC_URL}/set-password?token=abc`] },
    password_reset: { subject: /Reset your/, names: ['Di', '30 minutes'], links: [`${PUBLIC_URL}/reset?token=xyz`] },
    ticket_status_changed: { subject: /\[TX0042\] Status changed to Resolved: Printer jam/, names: ['Ed', 'Open', 'Resolved', 'Replaced the roller.'], links: [`${PUBLIC_URL}/api/tickets/TX0042/`] },
    ticket_commented: { subject: /\[TX0042\] New comment from Fay Tech/, names: ['Fay Tech'], links: [`${PUBLIC_URL}/api/tickets/TX0042/`] },
  };
  for (const [i, m] of messages.entries()) {
    const row = await ta.db('notifications').where({ id: ids[i] }).first();
    t.equal(row.status, 'sent', `${m.template} logged as sent`);
    t.equal(row.transport, 'smtp');
    t.equal(row.attempts, 1);
    t.ok(row.sent_at);
    const mail = smtp.mails.find((x) => readMime(x.raw).headers['message-id'] === row.message_id);
    t.ok(mail, `${m.template} received with its Message-ID`);
    if (!mail) continue;
    t.same(mail.to, [m.to], 'recipient');
    t.equal(mail.from, 'help@example.com', 'envelope sender from MAIL_FROM');
    const mime = readMime(mail.raw);
    const subject = decodeHeader(mime.headers.subject ?? '');
    const exp = expectations[m.template]!;
    t.match(subject, exp.subject, `${m.template} subject`);
    t.equal(row.subject, subject, 'subject logged');
    t.ok(mime.text, 'has a text part');
    t.ok(mime.html, 'has an HTML part');
    for (const n of exp.names) {
      t.ok(mime.text!.includes(n), `text has ${n}`);
      t.ok(mime.html!.includes(n), `html has ${n}`);
    }
    for (const l of exp.links) {
      t.ok(mime.text!.includes(l), `text links ${l}`);
      t.ok(mime.html!.includes(`href="${l.replace(/&/g, '&amp;')}"`), `html links ${l}`);
    }
  }
  const commented = smtp.mails.map((m) => readMime(m.raw)).find((m) => /New comment/.test(decodeHeader(m.headers.subject ?? '')))!;
  t.ok(commented.html!.includes('On my way &lt;b&gt;now&lt;/b&gt;'), 'user text is escaped in HTML');
  t.notOk(commented.html!.includes('<b>now</b>'), 'no raw HTML from users');
  t.ok(commented.text!.includes('On my way <b>now</b>'), 'text part is verbatim');

  // one-time links do not stay in the log
  const reset = await ta.db('notifications').where({ template: 'password_reset' }).first();
  t.notOk(JSON.stringify(reset.data).includes('xyz'), 'reset link scrubbed after sending');

  // the admin log
  const admin = await signedIn(ta, { role: 'System Admin' });
  const all = await ta.api.get('/api/admin/notifications/', { token: admin.token, query: { limit: 3 } });
  t.equal(all.status, 200);
  t.equal(all.body.data.length, 3);
  t.ok(all.body.next_cursor);
  t.notOk('data' in all.body.data[0], 'template data is never listed');
  const next = await ta.api.get('/api/admin/notifications/', { token: admin.token, query: { limit: 10, cursor: all.body.next_cursor } });
  t.equal(next.body.data.length, 4, 'second page has the rest');
  t.same([...all.body.data, ...next.body.data].map((r: { id: number }) => r.id), [...ids].reverse(), 'newest first, no overlap');
  const eds = await ta.api.get('/api/admin/notifications/', { token: admin.token, query: { recipient: 'ed@example.com', template: 'ticket_commented', status: 'sent' } });
  t.equal(eds.body.data.length, 1);
  t.equal(eds.body.data[0].recipient, 'ed@example.com');
  const employee = await signedIn(ta);
  t.equal((await ta.api.get('/api/admin/notifications/', { token: employee.token })).status, 403);
  t.equal((await ta.api.get('/api/admin/notifications/')).status, 401);
  const key = await createApiKey(ta.db, { role: 'System Admin', scopes: ['employees:read'] });
  t.equal((await ta.api.get('/api/admin/notifications/', { apiKey: key.key })).status, 200);
  t.equal((await ta.api.get('/api/admin/notifications/', { token: admin.token, query: { status: 'bogus' } })).status, 400);
});

t.test('without SMTP_URL messages are written to the outbox as .eml files', async (t) => {
  const ta = await startTestApp(t, { env: { PUBLIC_URL } });
  const id = await ta.db.transaction((trx) =>
    queueEmail(trx, ta.app.jobs, { template: 'account_approved', to: 'gus@example.com', data: { first_name: 'Gus', last_name: 'Ray', company_id: 'MA0100', login_url: `${PUBLIC_URL}/login` } }),
  );
  await ta.startWorkers();
  const row = await waitFor(async () => {
    const r = await ta.db('notifications').where({ id }).first();
    return r.status === 'sent' ? r : undefined;
  }, 'notification sent');
  t.equal(row.transport, 'outbox');
  const dir = path.join(ta.dataDir, 'outbox');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.eml'));
  t.equal(files.length, 1, 'one .eml file, no temporary files left');
  t.same((await readdir(dir)).filter((f) => !f.endsWith('.eml')), []);
  const mime = readMime(await readFile(path.join(dir, files[0]!), 'utf8'));
  t.match(mime.headers.to, /gus@example.com/);
  t.match(decodeHeader(mime.headers.subject ?? ''), /approved/);
  t.ok(mime.text?.includes(`${PUBLIC_URL}/login`));
  t.ok(mime.html?.includes('Gus Ray'));
});

t.test('the handler is idempotent, retries transport errors and fails after the last retry', async (t) => {
  let failing = true;
  const smtp = await startSmtp(t, { failWith: () => (failing ? 'mailbox busy' : undefined) });
  const ta = await startTestApp(t, { env: { SMTP_URL: smtp.url, PUBLIC_URL } });
  const handler = emailHandler(ta.app, createMailer(ta.app.config));
  const id = await ta.db.transaction((trx) =>
    queueEmail(trx, ta.app.jobs, { template: 'account_pending', to: 'hal@example.com', data: { first_name: 'Hal', last_name: 'Ito', company_id: 'MA0200' } }),
  );
  await t.rejects(handler({ notificationId: id }, { retryCount: 0, retryLimit: 3 }), /mailbox busy/, 'a transport error throws so pg-boss retries');
  let row = await ta.db('notifications').where({ id }).first();
  t.match(row, { status: 'queued', attempts: 1, transport: 'smtp' });
  t.match(row.last_error, /mailbox busy/);
  failing = false;
  await handler({ notificationId: id }, { retryCount: 1, retryLimit: 3 });
  row = await ta.db('notifications').where({ id }).first();
  t.match(row, { status: 'sent', attempts: 2, last_error: null });
  await handler({ notificationId: id }, { retryCount: 2, retryLimit: 3 });
  t.equal(smtp.mails.length, 1, 'a second run of the same job sends nothing');
  t.equal((await ta.db('notifications').where({ id }).first()).attempts, 2);

  failing = true;
  const id2 = await ta.db.transaction((trx) =>
    queueEmail(trx, ta.app.jobs, { template: 'account_pending', to: 'ivy@example.com', data: { first_name: 'Ivy', last_name: 'Oh', company_id: 'MA0201' } }),
  );
  await t.rejects(handler({ notificationId: id2 }, { retryCount: 3, retryLimit: 3 }));
  t.equal((await ta.db('notifications').where({ id: id2 }).first()).status, 'failed', 'failed after the last retry');
});

t.test('HTML escaping of user-provided values', async (t) => {
  const r = renderEmail('ticket_status_changed', { first_name: '<script>x</script>', ticket_number: 'TX0001', subject: 'a & "b"', from_status: 'Open', to_status: 'Closed', comment: null }, { publicUrl: PUBLIC_URL });
  t.notOk(r.html.includes('<script>x'), 'script escaped');
  t.ok(r.html.includes('&lt;script&gt;x&lt;/script&gt;'));
  t.ok(r.html.includes('a &amp; &quot;b&quot;'));
  const multi = renderEmail('ticket_commented', { first_name: 'A', ticket_number: 'TX0001', subject: 'line\r\nBcc: evil@example.com', commenter_name: 'B', comment: 'c' }, { publicUrl: PUBLIC_URL });
  t.notMatch(multi.subject, /[\r\n]/, 'no header injection through the subject');
});
