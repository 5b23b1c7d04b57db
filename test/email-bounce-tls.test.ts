/**
 * INBOUND_BOUNCE (polite answer to quarantined senders, never to automatic mail) and STARTTLS on the
 * receiver (a self-signed certificate made with openssl for the test).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import nodemailer from 'nodemailer';
import t from 'tap';
import { startSmtpReceiver } from '../src/features/email/smtp-receiver.js';
import { HELPDESK, newMessageId, startMailKit } from './helpers/mail.js';

const run = promisify(execFile);

t.test('INBOUND_BOUNCE answers unknown senders, never automatic mail', async (t) => {
  const kit = await startMailKit(t, { INBOUND_BOUNCE: 'true' });
  const id = newMessageId('stranger');
  await kit.send({ from: 'nobody@outside.test', to: HELPDESK, subject: 'Printer help', messageId: id, text: 'Hi' });
  t.equal((await kit.processed(id)).status, 'quarantined');
  const [bounce] = await kit.mailsTo('nobody@outside.test');
  t.equal(bounce!.subject, 'Not delivered: Printer help');
  t.equal(bounce!.inReplyTo, id, 'answers the message');
  t.equal(bounce!.headers.get('auto-submitted'), 'auto-replied');

  const id2 = newMessageId('stranger-ooo');
  await kit.send({ from: 'robot@outside.test', to: HELPDESK, subject: 'Out of office', messageId: id2, headers: { 'Auto-Submitted': 'auto-replied' }, text: 'away' });
  t.equal((await kit.processed(id2)).status, 'ignored');
  // the first bounce went through the same queue: once the queue is empty, nothing else was sent
  await new Promise((r) => setTimeout(r, 200));
  const { waitFor } = await import('./helpers/outbound.js');
  await waitFor(async () => Number((await kit.ta.db('notifications').where({ status: 'queued' }).count({ n: '*' }))[0]!.n) === 0 || undefined, 'queue drained');
  t.notOk(kit.outbox.some((m) => m.to.includes('robot@outside.test')), 'no bounce to an auto-reply');
});

t.test('STARTTLS is offered when a key and certificate are configured', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ss-tls-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost']);
  const kit = await startMailKit(t);
  const tlsApp = { ...kit.ta.app, config: { ...kit.ta.app.config, inbound: { ...kit.ta.app.config.inbound, tlsKeyFile: key, tlsCertFile: cert } } };
  const rx = await startSmtpReceiver(tlsApp, { port: 0, host: '127.0.0.1' });
  t.teardown(() => rx.close());
  const mail = { from: 'x@outside.test', to: HELPDESK, subject: 'tls', text: 'x' };
  const tls = nodemailer.createTransport({ host: '127.0.0.1', port: rx.port, secure: false, requireTLS: true, tls: { rejectUnauthorized: false } });
  const ok = await tls.sendMail(mail);
  t.match(ok.response, /^250 /, 'delivered over STARTTLS');
  tls.close();
  // the receiver without TLS does not offer it: a client that requires it gives up
  const plain = nodemailer.createTransport({ host: '127.0.0.1', port: kit.rx.port, secure: false, requireTLS: true, tls: { rejectUnauthorized: false } });
  const err = await plain.sendMail(mail).catch((e: Error) => e);
  t.ok(err instanceof Error, 'no STARTTLS without a certificate');
  plain.close();
});
