/**
 * Crash between receipt and processing: mail is accepted (250) by the receiver while no worker
 * runs, then the real `smartsupport worker` process is SIGKILLed while it processes; after a
 * restart every message is processed exactly once (one ticket per mail, none lost, none doubled).
 */
import nodemailer from 'nodemailer';
import t from 'tap';
import { startSmtpReceiver } from '../src/features/email/smtp-receiver.js';
import { appDatabaseEnv, createEmployee, startTestApp, TEST_JWT_SECRET } from './helpers/harness.js';
import { spawnSmartsupport } from './helpers/processes.js';
import { waitFor } from './helpers/outbound.js';

const JOB_ENV = { JOB_EXPIRE_SECONDS: '2', JOB_MAINTENANCE_SECONDS: '1', INBOUND_SENDER_HOURLY_CAP: '0' };
const N = 40;

t.test('SIGKILL between receipt and processing: each mail processed exactly once', async (t) => {
  const ta = await startTestApp(t, { env: { ...JOB_ENV, INBOUND_ADDRESS: 'helpdesk@example.com' } }); // no workers in this process
  await createEmployee(ta.db, { email: 'hank@corp.test' });
  const rx = await startSmtpReceiver(ta.app, { port: 0, host: '127.0.0.1' });
  t.teardown(() => rx.close());
  const tr = nodemailer.createTransport({ host: '127.0.0.1', port: rx.port, secure: false, ignoreTLS: true });
  t.teardown(() => tr.close());
  for (let i = 0; i < N; i++) {
    const info = await tr.sendMail({ from: 'hank@corp.test', to: 'helpdesk@example.com', subject: `crash ${i}`, messageId: `<crash-${i}@corp.test>`, text: `mail ${i}` });
    t.match(info.response, /^250 /);
  }
  t.equal((await ta.db('inbound_emails').where({ status: 'received' })).length, N, 'all stored and waiting for the worker');

  const env = { ...process.env, ...JOB_ENV, NODE_ENV: 'test', LOG_LEVEL: 'error', ...appDatabaseEnv(ta.app), SMARTSUPPORT_DATA_DIR: ta.dataDir, JWT_SECRET: TEST_JWT_SECRET, INBOUND_ADDRESS: 'helpdesk@example.com', SMTP_URL: '' };
  // a real `smartsupport worker`; any still running at teardown is SIGKILLed
  const startWorker = () => spawnSmartsupport(t, ['worker'], env);
  const done = async () => Number((await ta.db('inbound_emails').whereNot({ status: 'received' }).count({ n: '*' }))[0]!.n);

  // kill the worker as soon as it has started taking mail in, twice
  for (let k = 0; k < 2; k++) {
    const before = await done();
    const w = startWorker();
    await waitFor(async () => (await done()) > before || w.child.exitCode !== null, 'the worker processes something', 60_000, 20);
    w.child.kill('SIGKILL');
    t.equal(await w.exited, null, `worker ${k + 1} was killed mid-way`);
  }
  t.ok((await done()) < N, 'some mail was still unprocessed when the last worker died');

  const last = startWorker();
  try {
    await waitFor(async () => (await done()) === N, 'every mail processed after the restart', 120_000, 200);
  } catch (err) {
    t.comment(last.stderr());
    throw err;
  }
  last.child.kill('SIGTERM');
  await last.exited;
  const tickets = await ta.db('tickets').where('subject', 'like', 'crash %').select('subject');
  t.equal(tickets.length, N, 'one ticket per mail');
  t.equal(new Set(tickets.map((r) => r.subject)).size, N, 'no mail made two tickets');
  t.equal((await ta.db('inbound_emails').where({ outcome: 'ticket_created' })).length, N);
});
