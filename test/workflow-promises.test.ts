/**
 * Black-box tests of what docs/workflow.md and docs/notifications.md promise about deliveries and
 * emails: the real `smartsupport serve` / `smartsupport worker` processes, driven through HTTP, with a
 * real HTTP server playing the workflow system and a real SMTP server. Only documented behaviour
 * is asserted (statuses and fields of the API, what the receivers get), never internals.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { SMTPServer } from 'smtp-server';
import { Api, signedIn, startTestApp, type T, type TestApp } from './helpers/harness.js';
import { waitFor } from './helpers/outbound.js';
import { startServe, startWorker } from './helpers/processes.js';

/** What the receiver does with its n-th request: answer a status, or reset the connection. */
type Answer = number | 'reset';

async function receiver(t: T, answer: (n: number) => Answer) {
  const requests: { headers: IncomingHttpHeaders; body: string; answered: Answer }[] = [];
  let plan = answer;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const what = plan(requests.length);
      requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), answered: what });
      if (what === 'reset') req.socket.destroy();
      else res.writeHead(what, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, setPlan: (p: (n: number) => Answer) => (plan = p) };
}

interface Delivery {
  id: number;
  ticket_id: number;
  event_id: string;
  reason: string;
  status: string;
  attempts: number;
  last_status_code: number | null;
  next_attempt_at: string | null;
}

/** People, plus an employee's ticket approved through the API (which queues its delivery). */
async function people(ta: TestApp) {
  const employee = await signedIn(ta, { role: 'Employee' });
  const coordinator = await signedIn(ta, { role: 'Ticket Coordinator' });
  const admin = await signedIn(ta, { role: 'System Admin' });
  return { employee, coordinator, admin };
}

async function approvedTicket(api: Api, who: Awaited<ReturnType<typeof people>>): Promise<{ id: number; ticket_number: string }> {
  const created = await api.post('/api/tickets/', { subject: 'Laptop will not boot', category: 'Hardware', sub_category: 'Laptop', description: 'Black screen after the update.' }, { token: who.employee.token });
  if (created.status !== 201) throw new Error(`create: ${created.status} ${created.text}`);
  const approved = await api.post(`/api/tickets/${created.body.id}/approve/`, { priority: 'High', department: 'IT Department' }, { token: who.coordinator.token });
  if (approved.status !== 200 || approved.body.status !== 'Open') throw new Error(`approve: ${approved.status} ${approved.text}`);
  return { id: created.body.id, ticket_number: created.body.ticket_number };
}

async function deliveriesOf(api: Api, token: string, ticket: string): Promise<Delivery[]> {
  const r = await api.get<{ data: Delivery[] }>('/api/workflow/deliveries/', { token, query: { ticket } });
  if (r.status !== 200) throw new Error(`deliveries: ${r.status} ${r.text}`);
  return r.body.data;
}

const oneDelivery = (api: Api, token: string, ticket: string, done: (d: Delivery) => boolean, what: string) =>
  waitFor(async () => {
    const [d, ...more] = await deliveriesOf(api, token, ticket);
    if (more.length) throw new Error(`expected one delivery for ${ticket}, got ${more.length + 1}`);
    return d && done(d) ? d : undefined;
  }, what, 60_000, 100);

const FAST = { WORKFLOW_RETRY_BASE_MS: '20', WORKFLOW_RETRY_MAX_MS: '100', WORKFLOW_TIMEOUT_MS: '5000' };

t.test('408, 425 and a network error are retried with the same event; then the delivery is delivered', async (t) => {
  const plan: Answer[] = [408, 425, 'reset', 200];
  const wf = await receiver(t, (n) => plan[n] ?? 200);
  const ta = await startTestApp(t);
  const who = await people(ta);
  const serve = await startServe(t, ta, { ...FAST, WORKFLOW_API_URL: wf.url });
  const api = new Api(serve.url, t);
  const ticket = await approvedTicket(api, who);
  const d = await oneDelivery(api, who.admin.token, ticket.ticket_number, (d) => d.status !== 'pending', 'the delivery finished');
  t.match(d, { status: 'delivered', attempts: 4, last_status_code: 200, next_attempt_at: null });
  t.same(wf.requests.map((r) => r.answered), [408, 425, 'reset', 200], 'each failure was followed by another attempt');
  t.same(wf.requests.map((r) => r.headers['idempotency-key']), [d.event_id, d.event_id, d.event_id, d.event_id], 'the same event (Idempotency-Key) every time');
  t.same(wf.requests.map((r) => JSON.parse(r.body).ticket_id), [ticket.ticket_number, ticket.ticket_number, ticket.ticket_number, ticket.ticket_number]);
});

t.test('WORKFLOW_RETRY_HOURS: a delivery whose next attempt would fall after the window is dead; one inside it stays pending', async (t) => {
  const wf = await receiver(t, () => 503);
  const ta = await startTestApp(t);
  const who = await people(ta);
  // the default backoff (30 s first delay, 15–30 s with jitter) and a two-hour window
  const env = { WORKFLOW_API_URL: wf.url, WORKFLOW_RETRY_HOURS: '2' };
  const serve = await startServe(t, ta, env, ['--no-worker']);
  const api = new Api(serve.url, t);
  const late = await approvedTicket(api, who);
  const early = await approvedTicket(api, who);
  const [lateD] = await deliveriesOf(api, who.admin.token, late.ticket_number);
  const [earlyD] = await deliveriesOf(api, who.admin.token, early.ticket_number);
  t.match(lateD, { status: 'pending', attempts: 0 });
  // the window counts from the delivery's creation: pretend these were created a while ago
  await ta.db('workflow_deliveries').where({ id: lateD!.id }).update({ created_at: ta.db.raw("now() - interval '2 hours' + interval '5 seconds'") });
  await ta.db('workflow_deliveries').where({ id: earlyD!.id }).update({ created_at: ta.db.raw("now() - interval '1 hour'") });

  await startWorker(t, ta, env);
  const dead = await oneDelivery(api, who.admin.token, late.ticket_number, (d) => d.attempts >= 1, 'the late delivery was tried');
  t.match(dead, { status: 'dead', attempts: 1, last_status_code: 503, next_attempt_at: null }, 'its next try would be past the window: dead after one attempt');
  const pending = await oneDelivery(api, who.admin.token, early.ticket_number, (d) => d.attempts >= 1, 'the early delivery was tried');
  t.match(pending, { status: 'pending', attempts: 1, last_status_code: 503 }, 'inside the window it is retried');
  t.ok(pending.next_attempt_at && Date.parse(pending.next_attempt_at) > Date.now(), 'with its next attempt scheduled');
  const jobs = await api.get('/api/admin/jobs/', { token: who.admin.token });
  t.equal(jobs.status, 200);
  t.match(jobs.body.queues.find((q: { name: string }) => q.name === 'workflow.deliver'), { dead_lettered: 1 }, 'the dead delivery went to the dead-letter queue');
});

t.test('redeliver answers 409 delivery_pending while the original is still being tried; a finished one is redelivered as a new event', async (t) => {
  const wf = await receiver(t, () => 503);
  const ta = await startTestApp(t);
  const who = await people(ta);
  // default backoff: after the first 503 the next attempt is 15–30 s away, so the row stays pending
  const serve = await startServe(t, ta, { WORKFLOW_API_URL: wf.url });
  const api = new Api(serve.url, t);
  const ticket = await approvedTicket(api, who);
  const d = await oneDelivery(api, who.admin.token, ticket.ticket_number, (d) => d.attempts >= 1, 'the first attempt was made');
  t.match(d, { status: 'pending', attempts: 1, last_status_code: 503 });
  const r = await api.post(`/api/workflow/deliveries/${d.id}/redeliver/`, undefined, { token: who.coordinator.token });
  t.equal(r.status, 409);
  t.equal(r.body.code, 'delivery_pending');
  t.equal((await deliveriesOf(api, who.admin.token, ticket.ticket_number)).length, 1, 'no new delivery was queued');

  // the contrast: once a delivery has finished (422 → failed), redeliver queues a new event
  wf.setPlan(() => 422);
  const other = await approvedTicket(api, who);
  const failed = await oneDelivery(api, who.admin.token, other.ticket_number, (d) => d.status !== 'pending', 'the second delivery finished');
  t.match(failed, { status: 'failed', attempts: 1, last_status_code: 422 });
  const again = await api.post(`/api/workflow/deliveries/${failed.id}/redeliver/`, undefined, { token: who.coordinator.token });
  t.equal(again.status, 202);
  t.match(again.body, { ticket_id: other.id, reason: 'redelivery' });
  t.not(again.body.event_id, failed.event_id, 'a fresh event id');
});

t.test('a SIGKILLed email worker loses nothing: after a restart every email is sent, each once', async (t) => {
  // the SMTP server holds every message it is given (never answers the DATA) until `holding` is off
  let holding = true;
  const held: string[] = [];
  const accepted: string[] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, cb) {
      const to = session.envelope.rcptTo.map((r) => r.address).join(',');
      stream.on('data', () => undefined);
      stream.on('end', () => {
        if (holding) {
          held.push(to);
          return; // never answered: the sender is stuck mid-send
        }
        accepted.push(to);
        cb();
      });
    },
  });
  smtp.on('error', () => undefined);
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => smtp.close(() => resolve())));
  const smtpUrl = `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`;

  const ta = await startTestApp(t);
  const who = await people(ta);
  // a short lease, so the killed worker's jobs come back within seconds (docs/workflow.md, Jobs)
  const env = { SMTP_URL: smtpUrl, JOB_EXPIRE_SECONDS: '2', JOB_MAINTENANCE_SECONDS: '1' };
  const serve = await startServe(t, ta, env, ['--no-worker']);
  const api = new Api(serve.url, t);
  const emails = Array.from({ length: 5 }, (_, i) => `kill${i}.${Date.now()}@example.com`);
  for (const email of emails) {
    const r = await api.post('/api/create_employee/', { first_name: 'Ada', last_name: 'Lovelace', department: 'IT Department', email, password: 'Correct-Horse-Battery-9', confirm_password: 'Correct-Horse-Battery-9' });
    t.equal(r.status, 201, `registered ${email}`);
  }

  const first = await startWorker(t, ta, env);
  await waitFor(async () => held.length > 0, 'the worker is in the middle of sending');
  first.child.kill('SIGKILL');
  t.equal(await first.exited, null, 'the worker was killed');
  t.same(accepted, [], 'it was killed before any message was accepted');
  t.ok(held.length >= 1, `${held.length} message(s) were being sent when it died`);

  holding = false;
  await startWorker(t, ta, env);
  const sent = await waitFor(async () => {
    const r = await api.get('/api/admin/notifications/', { token: who.admin.token, query: { template: 'account_pending', status: 'sent', limit: 100 } });
    return r.body.data.length === emails.length ? r.body.data : undefined;
  }, 'every email sent after the restart', 90_000, 250);
  t.same(sent.map((n: { recipient: string }) => n.recipient).sort(), [...emails].sort(), 'every notification is sent');
  t.same([...accepted].sort(), [...emails].sort(), 'the SMTP server accepted each email exactly once');
});
