/**
 * The email channel end to end: real mail through the real SMTP receiver (nodemailer as the
 * sending MTA), processed by the real pg-boss worker, answered through a real SMTP server.
 */
import t from 'tap';
import { createEmployee, tokenFor } from './helpers/harness.js';
import { HELPDESK, newMessageId, startMailKit } from './helpers/mail.js';
import { insertTicket, waitFor } from './helpers/outbound.js';
import { inboundHandler } from '../src/features/email/process.js';

const ticketOf = async (db: import('knex').Knex, id: number | string | null) => db('tickets').where({ id }).first();
const commentsOf = async (db: import('knex').Knex, ticketId: number) => db('ticket_comments').where({ ticket_id: ticketId }).orderBy('id');

t.test('email channel over SMTP', async (t) => {
  const kit = await startMailKit(t, { INBOUND_DEFAULT_CATEGORY: 'General', INBOUND_REOPEN_DAYS: '7' });
  const { ta } = kit;
  const owner = await createEmployee(ta.db, { email: 'alice@corp.test', first_name: 'Alice' });
  const other = await createEmployee(ta.db, { email: 'bob@corp.test', first_name: 'Bob' });
  const staff = await createEmployee(ta.db, { email: 'carol@corp.test', first_name: 'Carol', role: 'Ticket Coordinator' });
  const admin = await createEmployee(ta.db, { email: 'root@corp.test', role: 'System Admin' });
  const adminToken = await tokenFor(ta.app, admin);

  // ── new ticket, acknowledgement threaded ──────────────────────────────────
  const firstId = newMessageId('new');
  const r = await kit.send({
    from: 'Alice <alice@corp.test>',
    to: HELPDESK,
    subject: '[Hardware] Laptop will not boot',
    messageId: firstId,
    text: 'My laptop shows a black screen.\n\n-- \nAlice, Accounting\n+1 555 0100',
  });
  t.match(r.response, /^250 /, 'the receiver answers 250 once stored');
  const row = await kit.processed(firstId);
  t.equal(row.status, 'processed');
  t.equal(row.outcome, 'ticket_created');
  const ticket = await ticketOf(ta.db, row.ticket_id);
  t.equal(Number(ticket.employee_id), owner.id, 'owned by the sender');
  t.equal(ticket.subject, 'Laptop will not boot', 'subject tag removed');
  t.equal(ticket.category, 'Hardware', 'category from the [tag]');
  t.equal(ticket.description, 'My laptop shows a black screen.', 'signature trimmed from the description');
  t.match(row.body_text, /Alice, Accounting/, 'the full text is kept on the inbound row');
  const number: string = ticket.ticket_number;

  const [ack] = await kit.mailsTo('alice@corp.test');
  t.match(ack!.subject, new RegExp(`^\\[${number}\\] Received: Laptop will not boot$`));
  t.equal(ack!.inReplyTo, firstId, 'the acknowledgement answers the received message');
  const refs = Array.isArray(ack!.references) ? ack!.references : [ack!.references];
  t.same(refs, [`<ticket-${number}@example.com>`, firstId], 'References: thread root, then the received message');
  const replyTo = ack!.replyTo!.value[0]!.address!;
  t.match(replyTo, new RegExp(`^helpdesk\\+${number}\\.[0-9a-f]{12}@example\\.com$`), 'Reply-To is the signed reply address');
  t.equal(ack!.headers.get('auto-submitted'), 'auto-replied');
  t.ok(ack!.headers.get('x-smartsupport-loop'), 'our loop header is set');
  t.ok(ack!.text && ack!.html, 'HTML with a plain-text alternative');
  const stored = await ta.db('email_messages').where({ message_id: ack!.messageId!.replace(/^<|>$/g, ''), direction: 'out' }).first();
  t.equal(Number(stored?.ticket_id), ticket.id, 'our outbound Message-ID is stored with its ticket');

  await t.test('a reply built by a mail client from our headers lands on the ticket', async (t) => {
    const id = newMessageId('client');
    // what a mail client does with "Reply": To = Reply-To, In-Reply-To = Message-ID, References + Message-ID, "Re: " subject
    await kit.send({
      from: 'alice@corp.test',
      to: replyTo,
      subject: `Re: ${ack!.subject}`,
      messageId: id,
      inReplyTo: ack!.messageId,
      references: [...(refs as string[]), ack!.messageId!],
      text: `It works again after a restart.\n\nOn Tue, 1 Dec 2026 at 10:00, SmartSupport <no-reply@example.com> wrote:\n> We received your request\n> and opened ticket ${number}.`,
    });
    const row = await kit.processed(id);
    t.equal(row.outcome, 'comment_added');
    t.equal(Number(row.ticket_id), ticket.id);
    const cs = await commentsOf(ta.db, ticket.id);
    t.equal(cs.at(-1).comment, 'It works again after a restart.', 'quoted history trimmed');
    t.equal(cs.at(-1).is_internal, false);
  });

  await t.test('reply matched by In-Reply-To alone (plain helpdesk address, unrelated subject)', async (t) => {
    const id = newMessageId('hdr');
    await kit.send({ from: 'alice@corp.test', to: HELPDESK, subject: 'one more thing', messageId: id, inReplyTo: ack!.messageId, text: 'Also the charger is warm.' });
    const row = await kit.processed(id);
    t.equal(row.outcome, 'comment_added');
    t.equal(Number(row.ticket_id), ticket.id);
    t.match(row.reason, /message_id/);
  });

  await t.test('reply matched by the signed address alone', async (t) => {
    const id = newMessageId('addr');
    await kit.send({ from: 'alice@corp.test', to: replyTo, subject: 'no tag here', messageId: id, text: 'Photo follows tomorrow.' });
    const row = await kit.processed(id);
    t.equal(row.outcome, 'comment_added');
    t.equal(Number(row.ticket_id), ticket.id);
    t.match(row.reason, /reply_address/);
    // a forged MAC is not a reply address: it becomes a new ticket
    const forged = replyTo.replace(/\.([0-9a-f]{12})@/, (_m, mac: string) => `.${mac[0] === 'a' ? 'b' : 'a'}${mac.slice(1)}@`);
    const id2 = newMessageId('forged');
    await kit.send({ from: 'alice@corp.test', to: forged, subject: 'forged', messageId: id2, text: 'x' });
    const row2 = await kit.processed(id2);
    t.equal(row2.outcome, 'ticket_created', 'a tampered reply address does not thread');
  });

  await t.test('subject token: owner threads, a stranger gets a new ticket', async (t) => {
    const id = newMessageId('tok');
    await kit.send({ from: 'alice@corp.test', to: HELPDESK, subject: `Re: [${number}] status?`, messageId: id, text: 'Any news?' });
    const row = await kit.processed(id);
    t.equal(row.outcome, 'comment_added');
    t.equal(Number(row.ticket_id), ticket.id);
    const id2 = newMessageId('stranger');
    await kit.send({ from: 'bob@corp.test', to: HELPDESK, subject: `[${number}] me too`, messageId: id2, text: 'Mine too.' });
    const row2 = await kit.processed(id2);
    t.equal(row2.outcome, 'ticket_created', 'the token is ignored for someone else');
    t.not(Number(row2.ticket_id), ticket.id);
    t.equal(Number((await ticketOf(ta.db, row2.ticket_id)).employee_id), other.id);
    // …and a stranger replying with our headers is quarantined, not commented
    const id3 = newMessageId('intruder');
    await kit.send({ from: 'bob@corp.test', to: replyTo, subject: 'hi', messageId: id3, text: 'let me in' });
    const row3 = await kit.processed(id3);
    t.equal(row3.status, 'quarantined');
    t.match(row3.reason, /^not_ticket_participant/);
  });

  await t.test('staff by email: public comment (owner notified) and #internal note', async (t) => {
    const before = kit.outbox.filter((m) => m.to.includes('alice@corp.test')).length;
    const id = newMessageId('staff');
    await kit.send({ from: 'carol@corp.test', to: replyTo, subject: 'Re: laptop', messageId: id, text: 'Please bring it to room 4.' });
    const row = await kit.processed(id);
    t.equal(row.outcome, 'comment_added');
    let cs = await commentsOf(ta.db, ticket.id);
    t.equal(cs.at(-1).is_internal, false);
    t.equal(Number(cs.at(-1).user_id), staff.id);
    const mails = await kit.mailsTo('alice@corp.test', before + 1);
    const note = mails.at(-1)!;
    t.match(note.subject, /New comment from Carol/);
    t.same(Array.isArray(note.references) ? note.references : [note.references], [`<ticket-${number}@example.com>`], 'notification threaded under the ticket root');
    t.equal(note.headers.get('auto-submitted'), 'auto-generated');
    t.match(JSON.stringify(note.headers.get('list')), /help\.example\.com\/api\/employee\/profile\/notifications\//, 'List-Unsubscribe on an optional notification');

    const id2 = newMessageId('internal');
    await kit.send({ from: 'carol@corp.test', to: replyTo, subject: 'Re: laptop', messageId: id2, text: '#internal\nWarranty expired, charge cost centre.' });
    const row2 = await kit.processed(id2);
    t.equal(row2.outcome, 'internal_note');
    cs = await commentsOf(ta.db, ticket.id);
    t.equal(cs.at(-1).is_internal, true);
    t.equal(cs.at(-1).comment, 'Warranty expired, charge cost centre.', 'marker removed');
    // the owner marker does nothing for an employee
    const id3 = newMessageId('fake-internal');
    await kit.send({ from: 'alice@corp.test', to: replyTo, subject: 'Re', messageId: id3, text: '#internal\nsecret?' });
    const row3 = await kit.processed(id3);
    t.equal(row3.outcome, 'comment_added');
    cs = await commentsOf(ta.db, ticket.id);
    t.equal(cs.at(-1).is_internal, false, 'an employee cannot write internal notes by email');
  });

  await t.test('closed tickets: reopened within the window, else a linked new ticket', async (t) => {
    const recent = await insertTicket(ta.db, owner.id, { status: 'Closed', time_closed: ta.db.raw("now() - interval '1 day'") });
    const old = await insertTicket(ta.db, owner.id, { status: 'Closed', time_closed: ta.db.raw("now() - interval '30 days'") });
    const id = newMessageId('reopen');
    await kit.send({ from: 'alice@corp.test', to: HELPDESK, subject: `Re: [${recent.ticket_number}] back again`, messageId: id, text: 'It broke again.' });
    const row = await kit.processed(id);
    t.equal(row.outcome, 'ticket_reopened');
    t.equal((await ticketOf(ta.db, recent.id)).status, 'Open');
    const id2 = newMessageId('followup');
    await kit.send({ from: 'alice@corp.test', to: HELPDESK, subject: `Re: [${old.ticket_number}] again`, messageId: id2, text: 'Same problem as last month.' });
    const row2 = await kit.processed(id2);
    t.equal(row2.outcome, 'follow_up_ticket_created');
    t.equal((await ticketOf(ta.db, old.id)).status, 'Closed', 'the old ticket stays closed');
    const fresh = await ticketOf(ta.db, row2.ticket_id);
    t.match(fresh.description, new RegExp(`^Follow-up to ${old.ticket_number}`));
  });

  await t.test('attachments: allowed ones stored, refused ones noted, mail still processed', async (t) => {
    const { default: sharp } = await import('sharp');
    const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#c00' } }).png().toBuffer();
    const id = newMessageId('att');
    await kit.send({
      from: 'alice@corp.test',
      to: HELPDESK,
      subject: 'Screenshot and tool',
      messageId: id,
      text: 'See attached.',
      attachments: [
        { filename: 'screen.png', content: png, contentType: 'image/png' },
        // PNG magic and the start of an IHDR chunk, then garbage: detected as PNG, cannot be decoded
        { filename: 'broken.png', content: Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), Buffer.alloc(40, 7)]), contentType: 'image/png' },
        { filename: 'fix.exe', content: Buffer.concat([Buffer.from('MZ'), Buffer.alloc(200, 1)]), contentType: 'application/octet-stream' },
      ],
    });
    const row = await kit.processed(id);
    t.equal(row.outcome, 'ticket_created');
    const atts = await ta.db('ticket_attachments').where({ ticket_id: row.ticket_id });
    t.equal(atts.length, 1, 'one attachment stored');
    t.equal(atts[0].file_type, 'image/png');
    const cs = await commentsOf(ta.db, Number(row.ticket_id));
    t.match(cs.map((c) => c.comment).join('\n'), /fix\.exe: file type not allowed/, 'the refused attachment is noted on the ticket');
    t.match(cs.map((c) => c.comment).join('\n'), /broken\.png: (could not be read|file type not allowed)/, 'an undecodable image is refused and noted too');
  });

  await t.test('HTML-only mail becomes safe text', async (t) => {
    const id = newMessageId('html');
    await kit.send({ from: 'alice@corp.test', to: HELPDESK, subject: 'HTML only', messageId: id, html: '<html><head><style>p{color:red}</style><script>alert(1)</script></head><body><p>Printer <b>jammed</b> on floor&nbsp;3.</p></body></html>' });
    const row = await kit.processed(id);
    const tk = await ticketOf(ta.db, row.ticket_id);
    t.match(tk.description, /Printer jammed on floor 3\./i);
    t.notMatch(tk.description, /<|alert|color:red/, 'no markup, script or style left');
  });

  await t.test('non-UTF-8 charsets and RFC 2047 subjects', async (t) => {
    const id = newMessageId('charset');
    // "Привет, принтер" in windows-1251, subject "Café réunion" as ISO-8859-1 encoded-word
    const cp1251 = Buffer.from([0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2, 0x2c, 0x20, 0xef, 0xf0, 0xe8, 0xed, 0xf2, 0xe5, 0xf0]);
    const raw = [
      'From: alice@corp.test',
      `To: ${HELPDESK}`,
      'Subject: =?ISO-8859-1?Q?Caf=E9_r=E9union?=',
      `Message-ID: ${id}`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=windows-1251',
      'Content-Transfer-Encoding: base64',
      '',
      cp1251.toString('base64'),
      '',
    ].join('\r\n');
    await kit.sendRaw(raw, { from: 'alice@corp.test', to: [HELPDESK] });
    const row = await kit.processed(id);
    const tk = await ticketOf(ta.db, row.ticket_id);
    t.equal(tk.subject, 'Café réunion');
    t.equal(tk.description, 'Привет, принтер');
  });

  const drained = () =>
    waitFor(async () => Number((await ta.db('notifications').where({ status: 'queued' }).count({ n: '*' }))[0]!.n) === 0 || undefined, 'every queued mail sent').catch(async (err) => {
      t.comment(JSON.stringify(await ta.db('notifications').where({ status: 'queued' }).select('id', 'template', 'recipient', 'attempts', 'last_error')));
      throw err;
    });

  await t.test('loop guards: auto-reply, bounce, our own mail back', async (t) => {
    await drained();
    const sentBefore = kit.outbox.length;
    const ticketsBefore = Number((await ta.db('tickets').count({ n: '*' }))[0]!.n);
    const id = newMessageId('ooo');
    await kit.send({ from: 'alice@corp.test', to: HELPDESK, subject: 'Out of office', messageId: id, headers: { 'Auto-Submitted': 'auto-replied' }, text: 'I am away.' });
    const row = await kit.processed(id);
    t.equal(row.status, 'ignored');
    t.match(row.reason, /^auto_submitted/);

    const id2 = newMessageId('bulk');
    await kit.send({ from: 'alice@corp.test', to: HELPDESK, subject: 'Newsletter', messageId: id2, headers: { Precedence: 'bulk' }, text: 'news' });
    t.match((await kit.processed(id2)).reason, /^precedence/);

    // a DSN about our acknowledgement (RFC 3464), from the MTA
    const id3 = newMessageId('dsn');
    const dsn = [
      'From: Mail Delivery System <MAILER-DAEMON@mx.corp.test>',
      `To: ${HELPDESK}`,
      'Subject: Undelivered Mail Returned to Sender',
      `Message-ID: ${id3}`,
      'MIME-Version: 1.0',
      'Auto-Submitted: auto-replied',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain',
      '',
      'The mail system could not deliver your message to alice@corp.test: mailbox full.',
      '--b1',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.corp.test',
      '',
      'Final-Recipient: rfc822; alice@corp.test',
      'Action: failed',
      'Status: 5.2.2',
      '--b1',
      'Content-Type: text/rfc822-headers',
      '',
      `Message-ID: ${ack!.messageId}`,
      `Subject: ${ack!.subject}`,
      '--b1--',
      '',
    ].join('\r\n');
    await kit.sendRaw(dsn, { from: '', to: [HELPDESK] });
    const row3 = await kit.processed(id3);
    t.equal(row3.outcome, 'bounce_noted');
    t.equal(Number(row3.ticket_id), ticket.id, 'the bounce is tied to the ticket our mail was about');
    const note = (await commentsOf(ta.db, ticket.id)).at(-1);
    t.equal(note.is_internal, true);
    t.match(note.comment, /could not be delivered/);

    // our own acknowledgement sent back to us (a forwarding loop)
    const ownRaw = kit.outbox.find((m) => m.raw.includes(ack!.messageId!))!.raw;
    await kit.sendRaw(ownRaw, { from: 'alice@corp.test', to: [HELPDESK] });
    const row4 = await kit.processed(ack!.messageId!);
    t.equal(row4.status, 'ignored');
    t.equal(row4.outcome, 'dropped');
    t.match(row4.reason, /^own_loop_header/);

    // nothing was answered and no ticket was made by any of them
    await drained();
    t.equal(kit.outbox.length, sentBefore, 'no mail went out');
    t.equal(Number((await ta.db('tickets').count({ n: '*' }))[0]!.n), ticketsBefore, 'no ticket created');
  });

  await t.test('unknown sender: quarantined, listed, released by an admin', async (t) => {
    const id = newMessageId('unknown');
    await kit.send({ from: 'dave@elsewhere.test', to: HELPDESK, subject: 'Need VPN access', messageId: id, text: 'Hi, I am new.' });
    const row = await kit.processed(id);
    t.equal(row.status, 'quarantined');
    t.equal(row.reason, 'unknown_sender');
    const pending = await createEmployee(ta.db, { email: 'erin@corp.test', status: 'Pending' });
    const id2 = newMessageId('pending');
    await kit.send({ from: 'erin@corp.test', to: HELPDESK, subject: 'Hello', messageId: id2, text: 'x' });
    t.equal((await kit.processed(id2)).reason, 'sender_pending');

    const list = await ta.api.get('/api/admin/inbound-emails/', { token: adminToken, query: { status: 'quarantined' } });
    t.equal(list.status, 200);
    t.ok(list.body.data.some((m: { id: number }) => m.id === Number(row.id)), 'in the quarantine list');
    t.ok(list.body.data.every((m: { status: string }) => m.status === 'quarantined'));
    const employeeToken = await tokenFor(ta.app, owner);
    t.equal((await ta.api.get('/api/admin/inbound-emails/', { token: employeeToken })).status, 403, 'employees cannot read the quarantine');

    // a release naming no account: the rules apply again, and it stays quarantined
    const bad = await ta.api.post(`/api/admin/inbound-emails/${row.id}/release/`, { employee_id: 999999 }, { token: adminToken });
    t.equal(bad.status, 422, 'an unknown employee_id is refused');
    // the admin approves the account and releases the message as that employee
    await ta.db('employees').where({ id: pending.id }).update({ status: 'Approved' });
    const rel = await ta.api.post(`/api/admin/inbound-emails/${row.id}/release/`, { employee_id: pending.id }, { token: adminToken });
    t.equal(rel.status, 200);
    t.equal(rel.body.status, 'received');
    const again = await ta.api.post(`/api/admin/inbound-emails/${row.id}/release/`, {}, { token: adminToken });
    t.equal(again.status, 409, 'already released, not quarantined any more');
    const done = await waitFor(async () => ta.db('inbound_emails').where({ id: row.id }).whereNot({ status: 'received' }).first(), 'released message processed');
    t.equal(done.outcome, 'ticket_created');
    t.equal(Number((await ticketOf(ta.db, done.ticket_id)).employee_id), pending.id, 'ticket owned by the employee the admin named');
    const detail = await ta.api.get(`/api/admin/inbound-emails/${row.id}/`, { token: adminToken });
    t.equal(detail.body.body_text, 'Hi, I am new.');
    t.equal(detail.body.ticket_number, (await ticketOf(ta.db, done.ticket_id)).ticket_number);
  });

  await t.test('a duplicate delivery is stored and processed once', async (t) => {
    const id = newMessageId('dup');
    const raw = `From: alice@corp.test\r\nTo: ${HELPDESK}\r\nSubject: Duplicate\r\nMessage-ID: ${id}\r\n\r\nsame bytes twice\r\n`;
    const a = await kit.sendRaw(raw, { from: 'alice@corp.test', to: [HELPDESK] });
    const b = await kit.sendRaw(raw, { from: 'alice@corp.test', to: [HELPDESK] });
    t.match(a.response, /stored as/);
    t.match(b.response, /duplicate/);
    // same Message-ID, different bytes (an MTA that re-wrapped it) is a duplicate too
    const c = await kit.sendRaw(raw.replace('same bytes', 'other bytes'), { from: 'alice@corp.test', to: [HELPDESK] });
    t.match(c.response, /duplicate/);
    const row = await kit.processed(id);
    // the job itself is idempotent: a retry (after a crash between commit and completion) or a
    // concurrent second run of the same job changes nothing
    const handler = inboundHandler(ta.app);
    await Promise.all([handler({ inboundId: Number(row.id) }), handler({ inboundId: Number(row.id) })]);
    t.equal((await ta.db('tickets').where({ subject: 'Duplicate' })).length, 1, 'one ticket');
    t.equal((await ta.db('inbound_emails').where({ message_id: id.slice(1, -1) })).length, 1, 'one row');
  });

  await t.test('receiver refusals: foreign recipient domain 550, oversize 552', async (t) => {
    const err = await kit.send({ from: 'alice@corp.test', to: 'someone@not-ours.test', subject: 'x', text: 'x' }).catch((e: { responseCode?: number }) => e);
    t.equal((err as { responseCode?: number }).responseCode, 550);
  });
});

t.test('size limit, hourly cap and database outage', async (t) => {
  const kit = await startMailKit(t, { INBOUND_MAX_MB: '1', INBOUND_SENDER_HOURLY_CAP: '2' });
  const { ta } = kit;
  await createEmployee(ta.db, { email: 'frank@corp.test' });
  const err = await kit.send({ from: 'frank@corp.test', to: HELPDESK, subject: 'big', text: 'x'.repeat(1_200_000) }).catch((e: { responseCode?: number }) => e);
  t.equal((err as { responseCode?: number }).responseCode, 552, 'oversize answered 552');
  t.equal((await ta.db('inbound_emails')).length, 0, 'nothing stored');

  const ids = [newMessageId('c1'), newMessageId('c2'), newMessageId('c3')];
  for (const [i, id] of ids.entries()) {
    await kit.send({ from: 'frank@corp.test', to: HELPDESK, subject: `cap ${i}`, messageId: id, text: 'x' });
    await kit.processed(id);
  }
  const rows = await Promise.all(ids.map((id) => kit.processed(id)));
  t.same(rows.map((r) => r.outcome), ['ticket_created', 'ticket_created', 'quarantined']);
  t.match(rows[2]!.reason, /^sender_hourly_cap/);

  // the database goes away: the receiver answers 451 so the MTA retries later
  const { createKnex } = await import('../src/db/knex.js');
  const dead = createKnex('postgres://postgres@127.0.0.1:1/none', 1);
  t.teardown(() => dead.destroy());
  const { startSmtpReceiver } = await import('../src/features/email/smtp-receiver.js');
  const rx = await startSmtpReceiver({ ...ta.app, db: dead }, { port: 0, host: '127.0.0.1' });
  t.teardown(() => rx.close());
  const nodemailer = (await import('nodemailer')).default;
  const tr = nodemailer.createTransport({ host: '127.0.0.1', port: rx.port, secure: false, ignoreTLS: true });
  const e2 = await tr.sendMail({ from: 'frank@corp.test', to: HELPDESK, subject: 'while down', text: 'x' }).catch((e: { responseCode?: number }) => e);
  t.equal((e2 as { responseCode?: number }).responseCode, 451, 'temporary failure while the database is down');
  tr.close();
});
