/** A real Server-Sent Events client for tests: parses the stream as it arrives. */
import { createHmac } from 'node:crypto';

export interface SseMessage {
  id?: string;
  event?: string;
  data: string;
}

export interface SseClient {
  status: number;
  messages: SseMessage[];
  /** events (default `message` type) parsed as JSON */
  events(): { id: string; type: string; object: { type: string; id: string }; data: Record<string, unknown> }[];
  comments: number;
  closed: Promise<void>;
  close(): void;
  body: string;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const ac = new AbortController();
  const res = await fetch(url, { headers: { Accept: 'text/event-stream', ...headers }, signal: ac.signal });
  const client: SseClient = {
    status: res.status,
    messages: [],
    comments: 0,
    body: '',
    events: () => client.messages.filter((m) => !m.event).map((m) => JSON.parse(m.data)),
    closed: Promise.resolve(),
    close: () => ac.abort(),
  };
  if (res.status !== 200 || !res.body) {
    client.body = await res.text();
    return client;
  }
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  client.closed = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += dec.decode(value, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const m: SseMessage = { data: '' };
          let isComment = true;
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            isComment = false;
            const [k, ...rest] = line.split(':');
            const v = rest.join(':').replace(/^ /, '');
            if (k === 'id') m.id = v;
            else if (k === 'event') m.event = v;
            else if (k === 'data') data.push(v);
          }
          if (isComment) client.comments += 1;
          else if (data.length) {
            m.data = data.join('\n');
            client.messages.push(m);
          }
        }
      }
    } catch {
      /* aborted */
    }
  })();
  return client;
}

/** Standard Webhooks check written out here (not the server's code): HMAC-SHA256 of id.ts.body with the decoded whsec_ key. */
export function signatureValid(secret: string, headers: Record<string, string | string[] | undefined>, body: string): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`).digest('base64');
  return String(headers['webhook-signature'] ?? '').split(' ').includes(`v1,${expected}`);
}
