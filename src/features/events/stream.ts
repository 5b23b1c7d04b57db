/**
 * `GET /api/events/stream/`: Server-Sent Events. Every message has `id:` (the event id), so a client
 * that reconnects with `Last-Event-ID` continues exactly after it: the events in between are read
 * from the log (same visibility, same filters), then the stream switches to live events from the
 * process's hub without a gap or a repeat. Memory is bounded per connection: at most
 * EVENT_STREAM_BUFFER_EVENTS queued live events and ~256 KiB in the socket; past that the stream
 * reads from the log instead (paced by the socket), and a reader that makes no progress for
 * EVENT_STREAM_STALL_MS gets a final `event: cut` message naming the id to resume from, and is closed.
 */
import type { AppContext } from '../../app/context.js';
import type { ApiContext } from '../../app/feature.js';
import { callerKey } from '../../http/auth.js';
import { AppError } from '../../http/errors.js';
import { after, canSeeEvent, positionOf, presentEvent, readEvents, START, typeMatcher, type EventRow, type FeedFilter, type Position, type Viewer } from './feed.js';
import { eventId } from './events.js';
import { hubOf, newestPosition } from './hub.js';
import { acquireStreamSlot } from './stream-slots.js';

const SOCKET_HIGH_WATER = 256 * 1024;
const BACKFILL_PAGE = 200;
/** Retry-After of a 429 too_many_streams (docs/events.md) */
export const STREAM_RETRY_AFTER_SECONDS = 5;

let openHere = 0;

/** Streams open in this process. */
export function streamsOpen(): number {
  return openHere;
}

export async function openStream(app: AppContext, ctx: ApiContext, viewer: Viewer, filter: FeedFilter & { from?: Position }): Promise<void> {
  // the limit holds across every instance: one row per open stream (stream-slots.ts)
  const release = await acquireStreamSlot(app, callerKey(viewer, ctx.ip));
  if (!release) {
    ctx.set('Retry-After', String(STREAM_RETRY_AFTER_SECONDS));
    throw new AppError(429, 'too_many_streams', `At most ${app.config.eventStreamMaxPerCaller} event streams per caller across all instances; close one first.`);
  }
  openHere += 1;
  let released = false;
  const releaseOnce = () => {
    if (released) return;
    released = true;
    openHere -= 1;
    release();
  };
  let hub: Awaited<ReturnType<typeof hubOf>>;
  let objectTicketId: number | null = null;
  try {
    hub = await hubOf(app);
    if (filter.object) {
      const t = await app.db('tickets').where({ ticket_number: filter.object.toUpperCase() }).first('id');
      objectTicketId = t ? Number(t.id) : null;
    }
  } catch (err) {
    releaseOnce();
    throw err;
  }

  const matches = typeMatcher(filter.types);
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
  let mode: 'catchup' | 'live' = 'catchup';
  let missed = false;
  let closed = false;
  let catchingUp = false;
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
    releaseOnce();
    res.end();
  };
  const cut = (reason: string) => {
    if (closed) return;
    const resume = last ? eventId(last.txid, last.seq) : null;
    res.write(`event: cut\ndata: ${JSON.stringify({ reason, resume_from: resume })}\n\n`);
    finish();
  };
  /** wait until the socket has room again; false if the reader made no progress for EVENT_STREAM_STALL_MS */
  const drained = () =>
    new Promise<boolean>((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        res.off('drain', onDrain);
        res.off('close', onClose);
        resolve(ok);
      };
      const onDrain = () => done(true);
      const onClose = () => done(true);
      const timer = setTimeout(() => done(false), app.config.eventStreamStallMs);
      res.on('drain', onDrain);
      res.on('close', onClose);
    });
  const flush = () => {
    while (mode === 'live' && !closed && pending.length && res.writableLength < SOCKET_HIGH_WATER) {
      const r = pending.shift()!;
      if (last && !after(positionOf(r), last)) continue;
      send(r);
    }
  };
  /**
   * Read from the log (resume, or a live burst the socket could not take): the database is the
   * buffer, paced by the socket. Live events that arrive meanwhile are dropped and read again.
   */
  const catchUp = async () => {
    if (catchingUp) return;
    catchingUp = true;
    mode = 'catchup';
    pending.length = 0;
    try {
      do {
        missed = false;
        for (;;) {
          const rows = await readEvents(app.db, viewer, { ...filter, from: last ?? START }, BACKFILL_PAGE);
          for (const r of rows) {
            if (closed) return;
            send(r);
            if (res.writableLength >= SOCKET_HIGH_WATER && !(await drained())) return cut('slow_consumer');
          }
          if (rows.length < BACKFILL_PAGE) break;
        }
      } while (missed && !closed);
      mode = 'live'; // no await between the last check of `missed` and this: nothing slips through
      flush();
    } catch (err) {
      app.log.warn({ err: (err as Error).message }, 'event stream read failed');
      cut('unavailable');
    } finally {
      catchingUp = false;
    }
  };
  const unsubscribe = hub.subscribe({
    push(row) {
      if (closed || !wanted(row)) return;
      if (mode === 'catchup') {
        missed = true;
        return;
      }
      pending.push(row);
      if (pending.length > cap) {
        void catchUp();
        return;
      }
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
  // the client may have gone while the slot was being taken: its close event has passed
  if (res.destroyed || res.socket?.destroyed !== false) finish();

  if (filter.from) {
    await catchUp();
    return;
  }
  try {
    const now = await newestPosition(app);
    last = after(now, hub.current) ? now : hub.current;
  } catch (err) {
    app.log.warn({ err: (err as Error).message }, 'event stream start failed');
    return cut('unavailable');
  }
  mode = 'live';
  flush();
}
