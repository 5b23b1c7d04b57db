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
export const CATALOGUE = [
  'ticket.created', 'ticket.updated', 'ticket.status_changed', 'ticket.assigned', 'ticket.deleted',
  'comment.created', 'attachment.added',
  'employee.registered', 'employee.created', 'employee.approved', 'employee.rejected', 'employee.updated',
  'api_key.created', 'api_key.revoked',
  'faq.created', 'faq.updated', 'faq.deleted',
  'chat.escalated',
] as const;

const PW = 'blue-harbor-lantern-42';

export async function exerciseCatalogue(ta: TestApp): Promise<{ expected: Expected[]; owner: { id: number; token: string }; adminToken: string; secrets: string[] }> {
  const api = ta.api;
  const admin = await createEmployee(ta.db, { role: 'System Admin', password: PW });
  const adminToken = (await login(ta, admin.email, PW)).access;
  const coord = await signedIn(ta, { role: 'Ticket Coordinator' });
  const owner = await signedIn(ta, { role: 'Employee' });
  const ok = <R extends { status: number; text: string }>(r: R, what: string): R => {
    if (r.status >= 300) throw new Error(`${what}: ${r.status} ${r.text.slice(0, 300)}`);
    return r;
  };
  const ex: Expected[] = [];
  const push = (type: string, object_id: string, audience: number | null, o: { staff_only?: boolean; admin_only?: boolean } = {}) =>
    ex.push({ type, object_id, audience, staff_only: o.staff_only ?? false, admin_only: o.admin_only ?? false });
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

  return { expected: ex, owner: { id: me, token: owner.token }, adminToken, secrets: [key.body.key, PW] };
}
