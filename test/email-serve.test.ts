/**
 * `serve` with INBOUND_SMTP_PORT: the receiver starts with the service, requires AUTH when
 * INBOUND_SMTP_USER/PASSWORD are set, and is closed by stop().
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import t from 'tap';
import { startService } from '../src/app/run.js';
import { createEmployee, createTestDatabase, testConfigOn } from './helpers/harness.js';
import { waitFor } from './helpers/outbound.js';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });

t.test('serve starts the SMTP receiver, with AUTH', async (t) => {
  const { url } = await createTestDatabase(t);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'ss-email-serve-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  const config = testConfigOn(url, dataDir, { INBOUND_SMTP_PORT: String(port), INBOUND_ADDRESS: 'helpdesk@example.com', INBOUND_SMTP_USER: 'relay', INBOUND_SMTP_PASSWORD: 'relay-password-1' });
  const running = await startService(config, { http: true, worker: true });
  let stopped = false;
  t.teardown(() => (stopped ? undefined : running.stop()));
  await createEmployee(running.app.db, { email: 'ivy@corp.test' });

  const send = (auth?: { user: string; pass: string }) =>
    nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, ...(auth ? { auth } : {}) }).sendMail({ from: 'ivy@corp.test', to: 'helpdesk@example.com', subject: 'via serve', messageId: '<serve-1@corp.test>', text: 'hello' });

  const noAuth = await send().catch((e: { responseCode?: number }) => e);
  t.equal((noAuth as { responseCode?: number }).responseCode, 530, 'mail without AUTH is refused');
  const badAuth = await send({ user: 'relay', pass: 'wrong' }).catch((e: { responseCode?: number }) => e);
  t.equal((badAuth as { responseCode?: number }).responseCode, 535, 'wrong password refused');
  const ok = await send({ user: 'relay', pass: 'relay-password-1' });
  t.match(ok.response, /^250 /);
  const row = await waitFor(async () => running.app.db('inbound_emails').where({ message_id: 'serve-1@corp.test' }).whereNot({ status: 'received' }).first(), 'processed by the service worker');
  t.equal(row.outcome, 'ticket_created');

  await running.stop();
  stopped = true;
  const refused = await new Promise<boolean>((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      resolve(false);
    });
    c.once('error', () => resolve(true));
  });
  t.ok(refused, 'the receiver is closed with the service');
});
