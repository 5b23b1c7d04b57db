/**
 * Follow `GET /api/events/stream/`: parse Server-Sent Events, and on any drop (network, server
 * restart, `event: cut` for a slow reader) reconnect with `Last-Event-ID`, so nothing is missed.
 */
import type { Factory } from '../factory.js';

export interface StreamEvent {
  id: string;
  type: string;
  created_at: string;
  actor: { kind: string; id: number | null; display: string | null } | null;
  object: { type: string; id: string };
  data: Record<string, unknown>;
}

export interface FollowOptions {
  query: Record<string, string | string[] | undefined>;
  from?: string;
  /** return true to stop following */
  onEvent(e: StreamEvent): Promise<boolean | void> | boolean | void;
  /** called once per (re)connection */
  onConnect?(resumeFrom: string | undefined): void;
  signal?: AbortSignal;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });

/** Resolves when `onEvent` asks to stop or the signal aborts; API errors (401/403/400) are thrown. */
export async function follow(f: Factory, opts: FollowOptions): Promise<void> {
  let last = opts.from;
  let delay = 500;
  while (!opts.signal?.aborted) {
    let res: Response;
    try {
      const headers: Record<string, string> = { Accept: 'text/event-stream' };
      if (last) headers['Last-Event-ID'] = last;
      res = (await f.client().request<Response>('get', '/api/events/stream/', { query: opts.query, headers, raw: true })).data;
    } catch (err) {
      const status = (err as { status?: number }).status;
      // a network error or a momentary refusal (429 too many streams, 503): try again
      if (status !== undefined && status !== 429 && status < 500) throw err;
      await sleep(delay, opts.signal);
      delay = Math.min(delay * 2, 10_000);
      continue;
    }
    opts.onConnect?.(last);
    delay = 500;
    const reader = res.body!.getReader();
    const abort = () => void reader.cancel().catch(() => undefined);
    opts.signal?.addEventListener('abort', abort);
    const dec = new TextDecoder();
    let buf = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let id: string | undefined;
          let event: string | undefined;
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (!line || line.startsWith(':')) continue;
            const at = line.indexOf(':');
            const k = at < 0 ? line : line.slice(0, at);
            const v = at < 0 ? '' : line.slice(at + 1).replace(/^ /, '');
            if (k === 'id') id = v;
            else if (k === 'event') event = v;
            else if (k === 'data') data.push(v);
          }
          if (event || !data.length) continue; // `cut` and other control messages: the reconnect resumes
          const e = JSON.parse(data.join('\n')) as StreamEvent;
          if (id) last = id;
          if (await opts.onEvent(e)) {
            abort();
            return;
          }
        }
      }
    } catch {
      /* dropped: reconnect */
    } finally {
      opts.signal?.removeEventListener('abort', abort);
    }
    if (!opts.signal?.aborted) await sleep(delay, opts.signal);
  }
}

/** One line per event: time, type, object, id (and who). */
export function eventLine(e: StreamEvent): string {
  const who = e.actor ? (e.actor.display ?? `${e.actor.kind}${e.actor.id !== null ? `:${e.actor.id}` : ''}`) : '-';
  const extra = e.type === 'ticket.status_changed' ? ` ${String(e.data.from)} → ${String(e.data.to)}` : '';
  return `${e.created_at}  ${e.type.padEnd(24)} ${e.object.type}:${e.object.id}${extra}  by ${who}  ${e.id}`;
}
