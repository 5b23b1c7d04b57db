/**
 * Email channel test kit: the app with its real SMTP receiver on 127.0.0.1:0, a real SMTP server
 * recording what we send out, nodemailer to send mail in, and waits on the inbound rows.
 */
import { randomBytes } from 'node:crypto';
import { simpleParser, type ParsedMail } from 'mailparser';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer/index.js';
import { startSmtpReceiver, type RunningReceiver } from '../../src/features/email/smtp-receiver.js';
import { startTestApp, type T, type TestApp } from './harness.js';
import { startSmtp, waitFor, type ReceivedMail } from './outbound.js';

export const HELPDESK = 'helpdesk@example.com';

export interface MailKit {
  ta: TestApp;
  rx: RunningReceiver;
  outbox: ReceivedMail[];
  /** send through our receiver; resolves with the server's answer */
  send(msg: Mail.Options): Promise<{ response: string; messageId: string }>;
  /** send raw bytes (exact message) with an envelope */
  sendRaw(raw: string | Buffer, envelope: { from: string; to: string[] }): Promise<{ response: string }>;
  /** the inbound row for a Message-ID once its job has finished (status no longer `received`) */
  processed(messageId: string): Promise<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** outbound mails (parsed) sent to `to`, waiting until at least `n` exist */
  mailsTo(to: string, n?: number): Promise<ParsedMail[]>;
}

export const newMessageId = (tag = 'm') => `<${tag}.${randomBytes(8).toString('hex')}@mail.client.test>`;

export async function startMailKit(t: T, env: Record<string, string> = {}): Promise<MailKit> {
  const out = await startSmtp(t);
  const ta = await startTestApp(t, {
    env: { INBOUND_ADDRESS: HELPDESK, MAIL_FROM: 'SmartSupport <no-reply@example.com>', SMTP_URL: out.url, PUBLIC_URL: 'https://help.example.com', ...env },
    worker: true,
  });
  const rx = await startSmtpReceiver(ta.app, { port: 0, host: '127.0.0.1' });
  t.teardown(() => rx.close());
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: rx.port, secure: false, ignoreTLS: true, pool: false });
  t.teardown(() => transport.close());
  return {
    ta,
    rx,
    outbox: out.mails,
    async send(msg) {
      const info = await transport.sendMail(msg);
      return { response: info.response, messageId: info.messageId };
    },
    async sendRaw(raw, envelope) {
      const info = await transport.sendMail({ envelope, raw });
      return { response: info.response };
    },
    async processed(messageId) {
      const id = messageId.replace(/^<|>$/g, '');
      return waitFor(async () => ta.db('inbound_emails').where({ message_id: id }).whereNot({ status: 'received' }).first(), `inbound ${id} processed`);
    },
    async mailsTo(to, n = 1) {
      const raw = await waitFor(async () => {
        const list = out.mails.filter((m) => m.to.includes(to.toLowerCase()) || m.to.includes(to));
        return list.length >= n ? list : undefined;
      }, `${n} mail(s) to ${to}`);
      return Promise.all(raw.map((m) => simpleParser(m.raw)));
    },
  };
}
