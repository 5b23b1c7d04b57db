/**
 * 1,000 inbound mails through the real SMTP receiver (nodemailer, 10 connections) with the inbound
 * worker running: mails/s from the first connection until every message is processed into a
 * ticket; fails if any mail was lost or processed twice. Baseline: a bare smtp-server that reads
 * and discards each message (the transport's own cost), so the ratio shows what storing,
 * de-duplicating, queueing and processing add.
 */
import type { AddressInfo } from 'node:net';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import type { AppContext } from '../src/app/context.js';
import { startWorkers } from '../src/app/worker.js';
import { emailFeature } from '../src/features/email/email-routes.js';
import { startSmtpReceiver } from '../src/features/email/smtp-receiver.js';
import { round, type Benchmark } from './lib.js';

const MAILS = Number(process.env.BENCH_MAILS ?? 1000);

async function sendAll(port: number, tag: string): Promise<number> {
  const tr = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, pool: true, maxConnections: 10, maxMessages: Infinity });
  const t0 = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (next < MAILS) {
        const i = next++;
        await tr.sendMail({ from: 'bench@corp.test', to: 'helpdesk@example.com', subject: `bench ${tag} ${i}`, messageId: `<bench-${tag}-${i}@corp.test>`, text: `Mail number ${i}.\n\n-- \nBench` });
      }
    }),
  );
  tr.close();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export const emailIntake: Benchmark = {
  name: 'email-intake',
  async run(env) {
    // baseline: the bare transport
    const bare = new SMTPServer({ authOptional: true, disabledCommands: ['STARTTLS', 'AUTH'], logger: false, onData: (s, _x, cb) => s.on('data', () => undefined).on('end', () => cb()) });
    await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
    const bareSeconds = await sendAll((bare.server.address() as AddressInfo).port, 'bare');
    await new Promise<void>((r) => bare.close(() => r()));

    const config = { ...env.app.config, inbound: { ...env.app.config.inbound, address: 'helpdesk@example.com', domains: ['example.com'], senderHourlyCap: 0 } };
    const app: AppContext = { ...env.app, config };
    await app.db('employees').insert({ first_name: 'Bench', last_name: 'Sender', email: 'bench@corp.test', department: 'IT Department', status: 'Approved' }).onConflict().ignore();
    const rx = await startSmtpReceiver(app, { port: 0, host: '127.0.0.1' });
    const workers = await startWorkers(app, [{ ...emailFeature, workers: (a) => emailFeature.workers!(a).map((w) => ({ ...w, concurrency: 4 })), schedules: [] }]);
    const t0 = process.hrtime.bigint();
    let intakeSeconds = NaN;
    try {
      intakeSeconds = await sendAll(rx.port, 'ours');
      for (;;) {
        const { n } = (await app.db('inbound_emails').where('subject', 'like', 'bench ours %').whereNot({ status: 'received' }).count({ n: '*' }).first()) as { n: string };
        if (Number(n) >= MAILS) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await rx.close();
      await workers.stop(5_000);
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const rows = Number(((await app.db('inbound_emails').where('subject', 'like', 'bench ours %').count({ n: '*' }).first()) as { n: string }).n);
    const tickets = await app.db('tickets').where('subject', 'like', 'bench ours %').select('subject');
    const once = rows === MAILS && tickets.length === MAILS && new Set(tickets.map((r) => r.subject)).size === MAILS;
    const rate = MAILS / seconds;
    const bareRate = MAILS / bareSeconds;
    process.stderr.write(`email-intake: ${MAILS} mails received and processed in ${seconds.toFixed(2)} s = ${rate.toFixed(0)} mails/s (intake alone ${(MAILS / intakeSeconds).toFixed(0)} mails/s; bare SMTP ${bareRate.toFixed(0)} mails/s); ${tickets.length} tickets, ${once ? 'each mail once' : 'LOST OR DOUBLED'}\n`);
    return { name: 'email-intake', metric: 'mails/s', ours: round(rate), baseline: round(bareRate), ratio: round(rate / bareRate, 3), target: 'all processed, none twice', pass: once, note: `${MAILS} mails, 10 SMTP connections, 4 inbound job loops; intake alone (250 after store + job) ${round(MAILS / intakeSeconds)} mails/s` };
  },
};
