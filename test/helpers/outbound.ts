/**
 * Test doubles for the outside world (real servers on 127.0.0.1): an SMTP server, a workflow HTTP
 * endpoint; plus ticket builders, a MIME reader and a bounded wait.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Knex } from 'knex';
import { SMTPServer } from 'smtp-server';
import type { T } from './harness.js';

export async function waitFor<R>(fn: () => Promise<R | undefined | null | false>, what: string, timeoutMs = 20_000, everyMs = 100): Promise<R> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// ─── SMTP ────────────────────────────────────────────────────────────────────

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
}

export async function startSmtp(t: T, opts: { failWith?: () => string | undefined } = {}): Promise<{ url: string; mails: ReceivedMail[] }> {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const fail = opts.failWith?.();
        if (fail) {
          const err = new Error(fail) as Error & { responseCode: number };
          err.responseCode = 451;
          return cb(err);
        }
        mails.push({ from: session.envelope.mailFrom ? (session.envelope.mailFrom as { address: string }).address : '', to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `smtp://127.0.0.1:${port}`, mails };
}

function decodeBody(body: string, encoding: string | undefined): string {
  const enc = (encoding ?? '7bit').toLowerCase();
  if (enc === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (enc === 'quoted-printable') {
    const soft = body.replace(/=\r?\n/g, '');
    const bytes: number[] = [];
    for (let i = 0; i < soft.length; i++) {
      const m = /^=([0-9A-Fa-f]{2})/.exec(soft.slice(i, i + 3));
      if (m) {
        bytes.push(parseInt(m[1]!, 16));
        i += 2;
      } else bytes.push(...Buffer.from(soft[i]!, 'utf8'));
    }
    return Buffer.from(bytes).toString('utf8');
  }
  return body;
}

function splitHeaders(part: string): { headers: Record<string, string>; body: string } {
  const idx = part.search(/\r?\n\r?\n/);
  const head = idx < 0 ? part : part.slice(0, idx);
  const body = idx < 0 ? '' : part.slice(idx).replace(/^\r?\n\r?\n/, '');
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const m = /^([^:]+):\s*(.*)$/.exec(line);
    if (m) headers[m[1]!.toLowerCase()] = m[2]!;
  }
  return { headers, body };
}

/** Headers plus the decoded text/plain and text/html parts of a MIME message. */
export function readMime(raw: string): { headers: Record<string, string>; text?: string; html?: string } {
  const { headers, body } = splitHeaders(raw);
  const out: { headers: Record<string, string>; text?: string; html?: string } = { headers };
  const walk = (h: Record<string, string>, b: string) => {
    const type = h['content-type'] ?? 'text/plain';
    const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
    if (/^multipart\//i.test(type) && boundary) {
      for (const part of b.split(`--${boundary}`).slice(1)) {
        if (part.startsWith('--')) break;
        const p = splitHeaders(part.replace(/^\r?\n/, ''));
        walk(p.headers, p.body);
      }
    } else if (/^text\/plain/i.test(type)) out.text = decodeBody(b, h['content-transfer-encoding']);
    else if (/^text\/html/i.test(type)) out.html = decodeBody(b, h['content-transfer-encoding']);
  };
  walk(headers, body);
  return out;
}

/** Decode an RFC 2047 encoded header (as nodemailer writes non-ASCII subjects). */
export function decodeHeader(v: string): string {
  return v.replace(/=\?utf-8\?([BQ])\?([^?]*)\?=\s*/gi, (_, enc: string, text: string) =>
    enc.toUpperCase() === 'B' ? Buffer.from(text, 'base64').toString('utf8') : decodeBody(text.replace(/_/g, ' '), 'quoted-printable'),
  );
}

// ─── the workflow system ─────────────────────────────────────────────────────

export interface StubRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** What the stub does with the n-th request (0-based): a status code, or 'hang' (never answers in time). */
export type StubBehaviour = (req: StubRequest, n: number) => number | 'hang';

export async function startWorkflowStub(t: T, behaviour: StubBehaviour = () => 201): Promise<{ url: string; requests: StubRequest[]; setBehaviour(b: StubBehaviour): void }> {
  const requests: StubRequest[] = [];
  let current = behaviour;
  const hanging = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: StubRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      const n = requests.length;
      requests.push(r);
      const what = current(r, n);
      if (what === 'hang') {
        hanging.add(res);
        setTimeout(() => {
          hanging.delete(res);
          if (!res.writableEnded) res.writeHead(201).end('{}');
        }, 3_000).unref();
        return;
      }
      res.writeHead(what, { 'Content-Type': 'application/json' }).end(JSON.stringify({ ok: what < 300 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  t.teardown(() => new Promise<void>((resolve) => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return { url: `http://127.0.0.1:${port}`, requests, setBehaviour: (b) => (current = b) };
}

// ─── tickets ─────────────────────────────────────────────────────────────────

export async function insertTicket(db: Knex | Knex.Transaction, employeeId: number, over: Record<string, unknown> = {}): Promise<{ id: number; ticket_number: string }> {
  const [row] = await db('tickets')
    .insert({
      employee_id: employeeId,
      subject: 'Laptop will not boot',
      category: 'Hardware',
      sub_category: 'Laptop',
      description: 'Black screen after the update.',
      status: 'Open',
      priority: 'High',
      department: 'IT Department',
      approved_at: new Date(),
      ...over,
    })
    .returning(['id', 'ticket_number']);
  return row as { id: number; ticket_number: string };
}
