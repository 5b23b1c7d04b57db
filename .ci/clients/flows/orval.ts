/**
 * The end-to-end flow through the orval client (.ci/clients/out/orval, `client: 'fetch'` with the
 * mutator in ../orval-fetch.ts for the base URL), exactly as a third party writes it: no casts, no
 * hand-written requests. Each answer is a union keyed by `status`, so checking the status narrows
 * `data` (test/contract/generated-clients.test.ts type-checks this file under tsc --strict, greps it
 * for casts, and runs it against a real server).
 * In: BASE_URL, ADMIN_TOKEN (a System Admin's access token), IMAGE_FILE (a PNG). Out: one JSON line.
 */
import { readFile } from 'node:fs/promises';
import { configureSmartSupport } from '../orval-fetch';
import {
  approveEmployee, approveTicket, claimTicket, createTicket, createTicketComment, getProfile, getTicket, listTicketHistory,
  listTickets, loginEmployee, logout, postChatMessage, registerEmployeeForm, uploadTicketAttachments,
} from '../out/orval/client';

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}
const fail = (step: string, r: { status: number; data: unknown }) => new Error(`${step}: ${r.status} ${JSON.stringify(r.data)}`);

configureSmartSupport({ baseUrl: env('BASE_URL') });
const png = await readFile(env('IMAGE_FILE'));
const file = (name: string) => new File([png], name, { type: 'image/png' });
/** per-call credentials: the last (RequestInit) argument */
const bearer = (token: string): RequestInit => ({ headers: { Authorization: `Bearer ${token}` } });
const admin = bearer(env('ADMIN_TOKEN'));

const email = `ada.lovelace.${Date.now()}@example.com`;
const password = 'Analytical-Engine-1843';

// register with an image (multipart), approve, login
const registered = await registerEmployeeForm({ first_name: 'Ada', last_name: 'Lovelace', department: 'IT Department', email, password, confirm_password: password, image: file('ada.png') });
if (registered.status !== 201) throw fail('register', registered);
const approved = await approveEmployee(registered.data.company_id, undefined, admin);
if (approved.status !== 200) throw fail('approve', approved);
const session = await loginEmployee({ email, password });
if (session.status !== 200) throw fail('login', session);
const me = bearer(session.data.access);

// two tickets, the first with an attachment
const first = await createTicket(
  { subject: 'Laptop will not boot', category: 'Hardware', sub_category: 'Laptop', description: 'Black screen after the logo since the update.' },
  { 'Idempotency-Key': crypto.randomUUID() },
  me,
);
if (first.status !== 201) throw fail('create ticket', first);
const id = first.data.ticket_number;
const uploaded = await uploadTicketAttachments(id, { files: [file('boot-screen.png')] }, undefined, me);
if (uploaded.status !== 201) throw fail('upload', uploaded);
const second = await createTicket({ subject: 'Printer jams on 20F', category: 'Hardware', sub_category: 'Printer', description: 'Every page jams at the fuser.' }, undefined, me);
if (second.status !== 201) throw fail('create second ticket', second);

// page through my tickets one at a time by next_cursor
const listed: string[] = [];
let pages = 0;
let cursor: string | undefined;
do {
  const page = await listTickets({ limit: 1, cursor }, me);
  if (page.status !== 200) throw fail('list tickets', page);
  pages++;
  listed.push(...page.data.data.map((t) => t.ticket_number));
  cursor = page.data.next_cursor ?? undefined;
} while (cursor);

// comment, then staff approve and claim with If-Match (a stale ETag is refused first)
const comment = await createTicketComment(id, { comment: 'It still stops at the logo after two restarts.' }, undefined, me);
if (comment.status !== 201) throw fail('comment', comment);
const approval = await approveTicket(id, { priority: 'High', department: 'IT Department' }, undefined, admin);
if (approval.status !== 200) throw fail('approve ticket', approval);
const read = await getTicket(id, admin);
if (read.status !== 200) throw fail('get ticket', read);
const etag = read.headers.get('ETag') ?? '';
const stale = await claimTicket(id, { 'If-Match': '"0"' }, admin);
const claimed = await claimTicket(id, { 'If-Match': etag }, admin);
if (claimed.status !== 200) throw fail('claim', claimed);

// history, chat, logout
const history = await listTicketHistory(id, undefined, me);
if (history.status !== 200) throw fail('history', history);
const reply = await postChatMessage({ message: 'How do I connect to the office Wi-Fi?' }, undefined, me);
if (reply.status !== 200) throw fail('chat', reply);
const out = await logout({ refresh: session.data.refresh }, me);
const after = await getProfile(me);

console.log(JSON.stringify({
  registered: { company_id: registered.data.company_id, status: registered.data.status, image: registered.data.image },
  approved: approved.data.status,
  attachment: uploaded.data.data.map((a) => a.file_type),
  tickets: [id, second.data.ticket_number],
  listed,
  pages,
  comment: comment.data.comment,
  etag,
  stale_claim: stale.status,
  stale_code: stale.status === 412 ? stale.data.code : undefined,
  claimed: { status: claimed.data.status, assigned_to: claimed.data.assigned_to?.id ?? null, attachments: claimed.data.attachments.length, comments: claimed.data.comments.length },
  history: history.data.data.map((h) => h.event),
  chat: { provider: reply.data.provider, answer: reply.data.answer },
  logout: out.status,
  after_logout: after.status,
}));
