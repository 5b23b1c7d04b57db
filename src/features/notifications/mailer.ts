/**
 * The mail transport: SMTP (nodemailer) when SMTP_URL is set; otherwise each message is written as
 * an RFC 5322 `.eml` file in `<dataDir>/outbox` (written to a temporary name, then renamed, so a
 * reader never sees half a file).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { Config } from '../../config/config.js';

export interface OutgoingMail {
  to: string;
  subject: string;
  html: string;
  text: string;
  /** full Message-ID including angle brackets */
  messageId: string;
  /** threading and loop headers (src/features/email/outbound.ts) */
  inReplyTo?: string;
  references?: string[];
  replyTo?: string;
  headers?: Record<string, string>;
}

export interface SentMail {
  transport: 'smtp' | 'outbox';
  messageId: string;
  /** the outbox file, for the outbox transport */
  file?: string;
}

export interface Mailer {
  kind: 'smtp' | 'outbox';
  send(mail: OutgoingMail): Promise<SentMail>;
  close(): void;
}

export const outboxDir = (dataDir: string) => path.join(dataDir, 'outbox');

/** connect 10 s + greeting 10 s + idle socket 30 s: under the email job lease (60 s) */
export const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 };

export function createMailer(config: Pick<Config, 'smtpUrl' | 'mailFrom' | 'dataDir'>): Mailer {
  if (config.smtpUrl) {
    // bounded SMTP waits (nodemailer's defaults are minutes): one send fits well inside the email
    // queue's 60 s job lease (src/jobs/queues.ts), so a hung server cannot outlive the lease
    const transport = nodemailer.createTransport({ url: config.smtpUrl, ...SMTP_TIMEOUTS } as never, { from: config.mailFrom });
    return {
      kind: 'smtp',
      async send(mail) {
        const info = await transport.sendMail({ from: config.mailFrom, ...mail });
        return { transport: 'smtp', messageId: info.messageId || mail.messageId };
      },
      close: () => transport.close(),
    };
  }
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  const dir = outboxDir(config.dataDir);
  return {
    kind: 'outbox',
    async send(mail) {
      const info = await transport.sendMail({ from: config.mailFrom, ...mail });
      await mkdir(dir, { recursive: true });
      const id = mail.messageId.replace(/[<>]/g, '').replace(/[^A-Za-z0-9._-]/g, '_');
      const file = path.join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}_${id}.eml`);
      const tmp = path.join(dir, `.${randomBytes(6).toString('hex')}.tmp`);
      await writeFile(tmp, info.message as unknown as Buffer, { mode: 0o600 });
      await rename(tmp, file);
      return { transport: 'outbox', messageId: mail.messageId, file };
    },
    close: () => transport.close(),
  };
}
