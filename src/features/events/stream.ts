/**
 * `GET /api/events/stream/`: Server-Sent Events. Every message has `id:` (the event id), so a client
 * that reconnects with `Last-Event-ID` continues exactly after it: the events in between are read
 * from the log (same visibility, same filters), then the stream switches to live events from the
 * process's hub without a gap or a repeat. Memory is bounded per connection: at most
 * EVENT_STREAM_BUFFER_EVENTS queued events and ~256 KiB in the socket; a consumer that falls
 * further behind gets a final `event: cut` message naming the id to resume from, and is closed.
 */
import type { AppContext } from '../../app/context.js';
import type { ApiContext } from '../../app/feature.js';
import { callerKey } from '../../http/auth.js';
import { AppError } from '../../http/errors.js';
import { after, canSeeEvent, positionOf, presentEvent, readEvents, typeMatcher, type EventRow, type FeedFilter, type Position, type Viewer } from './feed.js';
import { eventId } from './events.js';
import { hubOf, newestPosition } from './hub.js';

const SOCKET_HIGH_WATER = 256 * 1024;
const BACKFILL_PAGE = 200;

const openPerCaller = new Map<string, number>();

export function streamsOpen(): number {
  let n = 0;
  for (const v of openPerCaller.values()) n += v;
  return n;
}

export async function openStream(app: AppContext, ctx: ApiContext, viewer: Viewer, filter: FeedFilter & { from?: Position }): Promise<void> {
  const key = callerKey(viewer, ctx.ip);
  const open = openPerCaller.get(key) ?? 0;
  if (open >= app.config.eventStreamMaxPerCaller) {
    ctx.set('Retry-After', '5');
    throw new AppError(429, 'too_many_streams', `At most ${app.config.eventStreamMaxPerCaller} event streams per caller; close one first.`);
  }
  const hub = await hubOf(app);
  openPerCaller.set(key, open + 1);

  const matches = typeMatcher(filter.types);
  let objectTicketId: number | null = null;
  if (filter.object) {
    const t = await app.db('tickets').where({ ticket_number: filter.object.toUpperCase() }).first('id');
    objectTicketId = t ? Number(t.id) : null;
  }
  const wanted = (r: EventRow) =>
    canSeeEvent(viewer, r) && matches(r.type) && (!filter.object || r.object_id === filter.object || (objectTicketId !== null && Number(r.ticket_id) === objectTicketId));

  const res = ctx.res;
  ctx.respond = false;
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-store',
    'X-Accel-Buffering': 'no',
    Connection: 'keep-alive',
    'X-Request-Id': ctx.state.requestId,
  });
  res.write(`retry: 2000\n: connected\n\n`);

  let last: Position | undefined = filter.from;
  let live = false;
  let closed = false;
  const pending: EventRow[] = [];
  const cap = app.config.eventStreamBufferEvents;

  const send = (r: EventRow) => {
    res.write(`id: ${eventId(Number(r.txid), Number(r.seq))}\ndata: ${JSON.stringify(presentEvent(r))}\n\n`);
    last = positionOf(r);
  };
  const finish = () => {
    if (closed) return;
    closed = true;
    unsubscribe();
    clearInterval(heartbeat);
    const n = (openPerCaller.get(key) ?? 1) - 1;
    if (n <= 0) openPerCaller.delete(key);
    else openPerCaller.set(key, n);
    res.end();
  };
  const cut = (reason: string) => {
    if (closed) return;
    const resume = last ? eventId(last.txid, last.seq) : null;
    res.write(`event: cut\ndata: ${JSON.stringify({ reason, resume_from: resume })}\n\n`);
    finish();
  };
  const flush = () => {
    while (live && !closed && pending.length && res.writableLength < SOCKET_HIGH_WATER) {
      const r = pending.shift()!;
      if (last && !after(positionOf(r), last)) continue;
      send(r);
    }
  };
  const unsubscribe = hub.subscribe({
    push(row) {
      if (closed || !wanted(row)) return;
      if (pending.length >= cap) return cut('slow_consumer');
      pending.push(row);
      flush();
    },
    close: (reason) => cut(reason),
  });
  res.on('drain', flush);
  res.on('close', finish);
  ctx.req.on('close', finish);
  const heartbeat = setInterval(() => {
    if (!closed) res.write(`: heartbeat\n\n`);
  }, app.config.eventStreamHeartbeatMs);
  heartbeat.unref();

  // backfill from the log (resume), then go live; the hub queues meanwhile
  try {
    if (filter.from) {
      for (;;) {
        const rows = await readEvents(app.db, viewer, { ...filter, from: last ?? filter.from }, BACKFILL_PAGE);
        for (const r of rows) {
          if (closed) return;
          send(r);
          if (res.writableLength >= SOCKET_HIGH_WATER) await new Promise((ok) => res.once('drain', ok).once('close', ok));
        }
        if (rows.length < BACKFILL_PAGE) break;
      }
    } else {
      const now = await newestPosition(app);
      last = after(now, hub.current) ? now : hub.current;
    }
  } catch (err) {
    app.log.warn({ err: (err as Error).message }, 'event stream backfill failed');
    return cut('unavailable');
  }
  live = true;
  flush();
}
