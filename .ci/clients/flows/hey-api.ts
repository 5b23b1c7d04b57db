/**
 * The end-to-end flow through the @hey-api/openapi-ts client (.ci/clients/out/hey-api), exactly as a
 * third party writes it: no casts, no hand-written requests (test/contract/generated-clients.test.ts
 * type-checks this file under tsc --strict, greps it for casts, and runs it against a real server).
 * In: BASE_URL, ADMIN_TOKEN (a System Admin's access token), IMAGE_FILE (a PNG). Out: one JSON line.
 */
import { readFile } from 'node:fs/promises';
import { createClient, createConfig } from '../out/hey-api/client';
import {
  approveEmployee, approveTicket, claimTicket, createTicket, createTicketComment, getProfile, getTicket, listTicketHistory,
  listTickets, loginEmployee, logout, postChatMessage, registerEmployeeForm, uploadTicketAttachments,
} from '../out/hey-api';

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}
const baseUrl = env('BASE_URL');
const png = await readFile(env('IMAGE_FILE'));
const file = (name: string) => new File([png], name, { type: 'image/png' });

/** A client that sends `token` as the bearer (and nothing for the X-API-Key scheme: never both). */
const bearer = (token: string) => createClient(createConfig({ baseUrl, auth: (scheme) => (scheme.scheme === 'bearer' ? token : undefined) }));
const anonymous = createClient(createConfig({ baseUrl }));
const admin = bearer(env('ADMIN_TOKEN'));

const email = `grace.hopper.${Date.now()}@example.com`;
const password = 'Cobol-Compiler-1959';

// register with an image (multipart), approve, login
const registered = (await registerEmployeeForm({
  client: anonymous,
  body: { first_name: 'Grace', last_name: 'Hopper', department: 'IT Department', email, password, confirm_password: password, image: file('grace.png') },
  throwOnError: true,
})).data;
const approved = (await approveEmployee({ client: admin, path: { id: registered.company_id }, throwOnError: true })).data;
const session = (await loginEmployee({ client: anonymous, body: { email, password }, throwOnError: true })).data;
const me = bearer(session.access);

// two tickets, the first with an attachment
const first = (await createTicket({
  client: me,
  headers: { 'Idempotency-Key': crypto.randomUUID() },
  body: { subject: 'Laptop will not boot', category: 'Hardware', sub_category: 'Laptop', description: 'Black screen after the logo since the update.' },
  throwOnError: true,
})).data;
const uploaded = (await uploadTicketAttachments({ client: me, path: { id: first.ticket_number }, body: { files: [file('boot-screen.png')] }, throwOnError: true })).data;
const second = (await createTicket({
  client: me,
  body: { subject: 'Printer jams on 20F', category: 'Hardware', sub_category: 'Printer', description: 'Every page jams at the fuser.' },
  throwOnError: true,
})).data;

// page through my tickets one at a time by next_cursor
const listed: string[] = [];
let pages = 0;
let cursor: string | undefined;
do {
  const page = (await listTickets({ client: me, query: { limit: 1, cursor }, throwOnError: true })).data;
  pages++;
  listed.push(...page.data.map((t) => t.ticket_number));
  cursor = page.next_cursor ?? undefined;
} while (cursor);

// comment, then staff approve and claim with If-Match (a stale ETag is refused first)
const comment = (await createTicketComment({ client: me, path: { id: first.ticket_number }, body: { comment: 'It still stops at the logo after two restarts.' }, throwOnError: true })).data;
await approveTicket({ client: admin, path: { id: first.ticket_number }, body: { priority: 'High', department: 'IT Department' }, throwOnError: true });
const read = await getTicket({ client: admin, path: { id: first.ticket_number }, throwOnError: true });
const etag = read.response.headers.get('ETag') ?? '';
const stale = await claimTicket({ client: admin, path: { id: first.ticket_number }, headers: { 'If-Match': '"0"' } });
const claimed = (await claimTicket({ client: admin, path: { id: first.ticket_number }, headers: { 'If-Match': etag }, throwOnError: true })).data;

// history, chat, logout
const history = (await listTicketHistory({ client: me, path: { id: first.ticket_number }, throwOnError: true })).data;
const reply = (await postChatMessage({ client: me, body: { message: 'How do I connect to the office Wi-Fi?' }, throwOnError: true })).data;
const out = await logout({ client: me, body: { refresh: session.refresh } });
const after = await getProfile({ client: me });

console.log(JSON.stringify({
  registered: { company_id: registered.company_id, status: registered.status, image: registered.image },
  approved: approved.status,
  attachment: uploaded.data.map((a) => a.file_type),
  tickets: [first.ticket_number, second.ticket_number],
  listed,
  pages,
  comment: comment.comment,
  etag,
  stale_claim: stale.response.status,
  stale_code: stale.error?.code,
  claimed: { status: claimed.status, assigned_to: claimed.assigned_to?.id ?? null, attachments: claimed.attachments.length, comments: claimed.comments.length },
  history: history.data.map((h) => h.event),
  chat: { provider: reply.provider, answer: reply.answer },
  logout: out.response.status,
  after_logout: after.response.status,
}));
