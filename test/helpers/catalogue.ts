/**
 * Makes every change of the event catalogue (docs/events.md) once, through the HTTP API, and returns
 * the events each change must produce, written out here (not read from the code under test).
 * Used by the log, feed, stream and webhook tests: each must carry exactly these, once each.
 */
import { form, pdf } from './files.js';
import { createEmployee, login, signedIn, type TestApp } from './harness.js';

export interface Expected {
  type: string;
  object_id: string;
  /** the employee (by id) who may see it besides staff; null: staff only */
  audience: number | null;
  staff_only: boolean;
  admin_only: boolean;
}

/** Every type in the catalogue table of docs/events.md that exists in this branch. */
/** A response that must have succeeded (a setup step, not an assertion). */
const ok = <R extends { status: number; text: string }>(r: R, what: string): R => {
  if (r.status >= 300) throw new Error(`${what}: ${r.status} ${r.text.slice(0, 300)}`);
  return r;
};

/** The events a run expects, and how to add one. */
function expectations() {
  const ex: Expected[] = [];
  const push = (type: string, object_id: string, audience: number | null, o: { staff_only?: boolean; admin_only?: boolean } = {}) =>
    ex.push({ type, object_id, audience, staff_only: o.staff_only ?? false, admin_only: o.admin_only ?? false });
  return { ex, push };
}

export const CATALOGUE = [
  'ticket.created', 'ticket.updated', 'ticket.status_changed', 'ticket.assigned', 'ticket.deleted',
  'comment.created', 'attachment.added',
  'employee.registered', 'employee.created', 'employee.approved', 'employee.rejected', 'employee.updated',
  'api_key.created', 'api_key.revoked',
  'faq.created', 'faq.updated', 'faq.deleted',
  'chat.escalated',
] as const;

const PW = 'blue-harbor-lantern-42';

export async function exerciseCatalogue(ta: TestApp): Promise<{ expected: Expected[]; owner: { id: number; token: string }; adminToken: string; secrets: string[]; approved: string[] }> {
  const api = ta.api;
  const admin = await createEmployee(ta.db, { role: 'System Admin', password: PW });
  const adminToken = (await login(ta, admin.email, PW)).access;
  const coord = await signedIn(ta, { role: 'Ticket Coordinator' });
  const owner = await signedIn(ta, { role: 'Employee' });
  const { ex, push } = expectations();
  const me = owner.user.id;

  // tickets
  const created = ok(await api.post('/api/tickets/', { subject: 'VPN drops', category: 'Network', sub_category: 'VPN', description: 'Every hour.' }, { token: owner.token }), 'create');
  const tx = created.body.ticket_number as string;
  push('ticket.created', tx, me);
  ok(await api.patch(`/api/tickets/${tx}/`, { description: 'Every hour, since Monday.' }, { token: owner.token }), 'update');
  push('ticket.updated', tx, me);
  ok(await api.post(`/api/tickets/${tx}/comments/`, { comment: 'Still happening' }, { token: owner.token }), 'comment');
  const comments = await ta.db('ticket_comments').orderBy('id', 'desc').first('id');
  push('comment.created', String(comments.id), me);
  ok(await api.post(`/api/tickets/${tx}/comments/`, { comment: 'internal: check the concentrator', is_internal: true }, { token: coord.token }), 'internal note');
  const note = await ta.db('ticket_comments').orderBy('id', 'desc').first('id');
  push('comment.created', String(note.id), me, { staff_only: true });
  const att = ok(await api.post(`/api/tickets/${tx}/attachments/`, undefined, { raw: form('files[]', [{ data: pdf(), name: 'log.pdf' }]), token: owner.token }), 'attach');
  push('attachment.added', String(att.body.data[0].id), me);
  ok(await api.post(`/api/tickets/${tx}/approve/`, { priority: 'High', department: 'IT Department' }, { token: coord.token }), 'approve');
  push('ticket.status_changed', tx, me);
  ok(await api.post(`/api/tickets/${tx}/claim/`, {}, { token: coord.token }), 'claim');
  push('ticket.status_changed', tx, me);
  push('ticket.assigned', tx, me);
  const second = ok(await api.post('/api/tickets/', { subject: 'Typo', category: 'Other', sub_category: 'Other', description: 'Wrong ticket' }, { token: owner.token }), 'create 2');
  push('ticket.created', second.body.ticket_number, me);
  ok(await api.delete(`/api/tickets/${second.body.ticket_number}/`, { token: owner.token }), 'delete');
  push('ticket.deleted', second.body.ticket_number, me);

  // accounts
  const reg = ok(await api.post('/api/create_employee/', { first_name: 'Rae', last_name: 'Lim', department: 'IT Department', email: `rae.${Date.now()}@example.com`, password: PW, confirm_password: PW }), 'register');
  push('employee.registered', reg.body.company_id, reg.body.id);
  ok(await api.post(`/api/employees/${reg.body.id}/approve/`, undefined, { token: adminToken }), 'approve employee');
  push('employee.approved', reg.body.company_id, reg.body.id);
  const reg2 = ok(await api.post('/api/create_employee/', { first_name: 'Sol', last_name: 'Tan', department: 'IT Department', email: `sol.${Date.now()}@example.com`, password: PW, confirm_password: PW }), 'register 2');
  push('employee.registered', reg2.body.company_id, reg2.body.id);
  ok(await api.post(`/api/employees/${reg2.body.id}/reject/`, { reason: 'unknown person' }, { token: adminToken }), 'reject employee');
  push('employee.rejected', reg2.body.company_id, reg2.body.id);
  const made = ok(await api.post('/api/admin/create-employee/', { first_name: 'Kai', last_name: 'Ng', department: 'IT Department', email: `kai.${Date.now()}@example.com`, role: 'Employee' }, { token: adminToken }), 'admin create');
  push('employee.created', made.body.company_id, made.body.id);
  ok(await api.patch(`/api/employees/${made.body.id}/`, { department: 'Budget Department' }, { token: adminToken }), 'patch employee');
  push('employee.updated', made.body.company_id, made.body.id);
  ok(await api.patch('/api/employee/profile/', { first_name: 'Olive' }, { token: owner.token }), 'profile');
  push('employee.updated', owner.user.company_id, me);

  // API keys
  const key = ok(await api.post('/api/admin/api-keys/', { name: 'integration', role: 'Ticket Coordinator', scopes: ['tickets:read'] }, { token: adminToken }), 'key');
  push('api_key.created', String(key.body.id), null, { admin_only: true });
  ok(await api.delete(`/api/admin/api-keys/${key.body.id}/`, { token: adminToken }), 'revoke');
  push('api_key.revoked', String(key.body.id), null, { admin_only: true });

  // FAQ
  const faq = ok(await api.post('/api/faqs/', { question: 'How do I reset my VPN token?', answer: 'Use the portal.', tags: ['vpn'] }, { token: adminToken }), 'faq');
  push('faq.created', String(faq.body.id), null);
  ok(await api.patch(`/api/faqs/${faq.body.id}/`, { answer: 'Use the self-service portal.' }, { token: adminToken }), 'faq update');
  push('faq.updated', String(faq.body.id), null);
  ok(await api.delete(`/api/faqs/${faq.body.id}/`, { token: adminToken }), 'faq delete');
  push('faq.deleted', String(faq.body.id), null);

  // chat escalation: a new ticket and the escalation
  const chat = ok(await api.post('/api/chat/', { message: 'what is the boiling point of mercury' }, { token: owner.token }), 'chat');
  const esc = ok(await api.post(`/api/chat/${chat.body.conversation_id}/escalate/`, undefined, { token: owner.token }), 'escalate');
  push('ticket.created', esc.body.ticket_number, me);
  push('chat.escalated', String(chat.body.conversation_id), me);

  return { expected: ex, owner: { id: me, token: owner.token }, adminToken, secrets: [key.body.key, PW], approved: [tx] };
}

/** The types `exerciseEverything` adds: they need workers, the inbound mail receiver, a workflow target and SLA timers. */
export const CATALOGUE_MORE = [
  'employee.deactivated', 'employee.reactivated', 'employee.erased',
  'announcement.created', 'announcement.archived',
  'webhook.created', 'webhook.updated', 'webhook.secret_rotated', 'webhook.disabled', 'webhook.deleted',
  'email.received', 'email.processed', 'email.quarantined', 'email.ignored', 'email.released',
  'workflow.delivery_dead_lettered',
  'sla.warning', 'sla.breached', 'sla.policy_changed',
] as const;

export const FULL_CATALOGUE = [...CATALOGUE, ...CATALOGUE_MORE] as const;

export interface MoreKit {
  /** sends a message through the real SMTP receiver */
  send(msg: { from: string; to: string; subject: string; messageId: string; text: string; headers?: Record<string, string> }): Promise<unknown>;
  /** the inbound row once its job finished */
  processed(messageId: string): Promise<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
  helpdesk: string;
  /** a receiver URL that answers 410 Gone */
  goneUrl: string;
  waitFor<R>(fn: () => Promise<R | undefined | null | false>, what: string, timeoutMs?: number): Promise<R>;
}

/**
 * The rest of the catalogue, through real actions: account lifecycle, announcements, webhook
 * endpoint changes (and an auto-disable by a receiver answering 410), inbound mail through the SMTP
 * receiver (processed, quarantined and released, loop-guarded), the workflow push dead-lettered for
 * the tickets approved by `exerciseCatalogue` (the workflow target answers 500, one attempt), and SLA
 * timers of a policy whose target is nearly used up. Call after `exerciseCatalogue` with workers
 * running; `approved` are the tickets approved there.
 */
export async function exerciseEverything(ta: TestApp, kit: MoreKit, approved: string[]): Promise<Expected[]> {
  const api = ta.api;
  const admin = await createEmployee(ta.db, { role: 'System Admin', password: PW });
  const adminToken = (await login(ta, admin.email, PW)).access;
  const coord = await signedIn(ta, { role: 'Ticket Coordinator' });
  const { ex, push } = expectations();
  const eventOf = (type: string, objectId: string) => kit.waitFor(async () => ta.db('events').where({ type, object_id: objectId }).first(), `${type} ${objectId} written`, 60_000);

  // the workflow push of every ticket approved earlier gives up (dead letter)
  for (const tx of approved) {
    const d = await kit.waitFor(async () => (await ta.db('workflow_deliveries as d').join('tickets as t', 't.id', 'd.ticket_id').where('t.ticket_number', tx).where('d.status', 'dead').first('d.id')) as { id: number } | undefined, `workflow push of ${tx} dead-lettered`, 60_000);
    push('workflow.delivery_dead_lettered', String(d.id), null, { staff_only: true });
  }

  // account lifecycle (issue 13)
  const kai = ok(await api.post('/api/admin/create-employee/', { first_name: 'Ida', last_name: 'Moss', department: 'IT Department', email: `ida.${Date.now()}@example.com`, role: 'Employee' }, { token: adminToken }), 'admin create');
  push('employee.created', kai.body.company_id, kai.body.id);
  ok(await api.post(`/api/employees/${kai.body.id}/deactivate/`, { reason: 'left' }, { token: adminToken }), 'deactivate');
  push('employee.deactivated', kai.body.company_id, kai.body.id);
  ok(await api.post(`/api/employees/${kai.body.id}/reactivate/`, undefined, { token: adminToken }), 'reactivate');
  push('employee.reactivated', kai.body.company_id, kai.body.id);
  // erasure scrubs earlier events about the person: erase someone with no earlier events
  const gone = await createEmployee(ta.db, { role: 'Employee' });
  ok(await api.post(`/api/employees/${gone.id}/erase/`, { confirm: gone.company_id }, { token: adminToken }), 'erase');
  push('employee.erased', gone.company_id, gone.id);

  // announcements
  const ann = ok(await api.post('/api/announcements/', { title: 'Maintenance', body: 'VPN down on Saturday.', audience: 'everyone' }, { token: adminToken }), 'announce');
  push('announcement.created', String(ann.body.id), null);
  ok(await api.post(`/api/announcements/${ann.body.id}/archive/`, undefined, { token: adminToken }), 'archive');
  push('announcement.archived', String(ann.body.id), null);

  // webhook endpoints: changes, and one disabled by its receiver answering 410
  const gone410 = ok(await api.post('/api/webhooks/', { url: kit.goneUrl, event_types: ['announcement.*'] }, { token: adminToken }), 'webhook 410');
  const wid = String(gone410.body.id);
  push('webhook.created', wid, null, { admin_only: true });
  ok(await api.patch(`/api/webhooks/${wid}/`, { description: 'answers 410' }, { token: adminToken }), 'webhook patch');
  push('webhook.updated', wid, null, { admin_only: true });
  ok(await api.post(`/api/webhooks/${wid}/rotate-secret/`, { overlap_hours: 0 }, { token: adminToken }), 'rotate');
  push('webhook.secret_rotated', wid, null, { admin_only: true });
  const ann2 = ok(await api.post('/api/announcements/', { title: 'Second', body: 'For the 410 endpoint.', audience: 'everyone' }, { token: adminToken }), 'announce 2');
  push('announcement.created', String(ann2.body.id), null);
  await eventOf('webhook.disabled', wid);
  push('webhook.disabled', wid, null, { admin_only: true });
  ok(await api.delete(`/api/webhooks/${wid}/`, { token: adminToken }), 'webhook delete');
  push('webhook.deleted', wid, null, { admin_only: true });

  // inbound email through the real SMTP receiver
  const sender = await createEmployee(ta.db, { role: 'Employee', email: `mia.${Date.now()}@corp.test` });
  const mid = (tag: string) => `<${tag}.${Date.now()}.${Math.random().toString(16).slice(2)}@mail.client.test>`;
  const m1 = mid('known');
  await kit.send({ from: sender.email, to: kit.helpdesk, subject: 'Monitor flickers', messageId: m1, text: 'Since this morning.' });
  const r1 = await kit.processed(m1);
  if (r1.status !== 'processed') throw new Error(`mail from a known sender: ${r1.status} ${r1.reason}`);
  const t1 = await ta.db('tickets').where({ id: r1.ticket_id }).first('ticket_number');
  push('email.received', String(r1.id), null, { admin_only: true });
  push('ticket.created', t1.ticket_number, sender.id);
  push('email.processed', String(r1.id), null, { admin_only: true });
  const m2 = mid('stranger');
  await kit.send({ from: 'zed@elsewhere.test', to: kit.helpdesk, subject: 'Need access', messageId: m2, text: 'I am new.' });
  const r2 = await kit.processed(m2);
  if (r2.status !== 'quarantined') throw new Error(`mail from a stranger: ${r2.status}`);
  push('email.received', String(r2.id), null, { admin_only: true });
  push('email.quarantined', String(r2.id), null, { admin_only: true });
  ok(await api.post(`/api/admin/inbound-emails/${r2.id}/release/`, { employee_id: sender.id }, { token: adminToken }), 'release');
  push('email.released', String(r2.id), null, { admin_only: true });
  const r2b = await kit.waitFor(async () => ta.db('inbound_emails').where({ id: r2.id }).whereNot({ status: 'received' }).first(), 'released mail processed');
  const t2 = await ta.db('tickets').where({ id: r2b.ticket_id }).first('ticket_number');
  push('ticket.created', t2.ticket_number, sender.id);
  push('email.processed', String(r2.id), null, { admin_only: true });
  const m3 = mid('ooo');
  await kit.send({ from: sender.email, to: kit.helpdesk, subject: 'Out of office', messageId: m3, text: 'Away.', headers: { 'Auto-Submitted': 'auto-replied' } });
  const r3 = await kit.processed(m3);
  if (r3.status !== 'ignored') throw new Error(`auto-reply: ${r3.status}`);
  push('email.received', String(r3.id), null, { admin_only: true });
  push('email.ignored', String(r3.id), null, { admin_only: true });

  // SLA: a policy for Critical tickets; a target nearly used up warns and breaches by its timers
  ok(await api.post('/api/sla/policies/', { name: 'Catalogue critical', conditions: { priority: ['Critical'] }, targets: { first_response_minutes: 10 }, calendar_id: null }, { token: adminToken }), 'sla policy');
  const crit = ok(await api.post('/api/tickets/', { subject: 'Core switch down', category: 'Network', sub_category: 'VPN', description: 'Floor 2 dark.', priority: 'Critical' }, { token: coord.token }), 'critical ticket');
  const ctx = crit.body.ticket_number as string;
  push('ticket.created', ctx, coord.user.id);
  // 597 of its 600 seconds gone: past the warning point; due in 3 s. A change of an SLA field (category, same policy) makes the app recompute.
  await ta.db('ticket_sla').where({ ticket_id: crit.body.id }).update({ first_response_start: ta.db.raw(`now() - make_interval(secs => 597)`) });
  ok(await api.patch(`/api/tickets/${ctx}/`, { category: 'Network/VPN' }, { token: coord.token }), 'recompute');
  push('ticket.updated', ctx, coord.user.id);
  await eventOf('sla.warning', ctx);
  push('sla.warning', ctx, coord.user.id, { staff_only: true });
  await eventOf('sla.breached', ctx);
  push('sla.breached', ctx, coord.user.id, { staff_only: true });
  // no longer Critical: the policy no longer applies
  ok(await api.patch(`/api/tickets/${ctx}/`, { priority: 'Low' }, { token: coord.token }), 'priority');
  push('ticket.updated', ctx, coord.user.id);
  await eventOf('sla.policy_changed', ctx);
  push('sla.policy_changed', ctx, coord.user.id, { staff_only: true });
  return ex;
}
