/**
 * One per process: follows the event log and hands each new event to the live streams of this
 * process. Fed across instances by PostgreSQL LISTEN/NOTIFY on the process's one shared LISTEN connection (src/db/listener.ts; the events
 * trigger notifies with an empty payload); the rows themselves are read from the table, below the
 * commit horizon, so a missed or coalesced notification loses nothing. A LISTEN connection can die
 * silently, so the hub also polls (cheap: one indexed query per process, not per stream) and, after
 * it reconnects, reads everything since its position (backfill).
 */
import { listenerOf } from '../../db/listener.js';
import type { AppContext } from '../../app/context.js';
import { after, HORIZON_SQL, positionOf, readEvents, START, type EventRow, type Position } from './feed.js';

export interface HubSubscriber {
  /** called in log order for every event past the hub's position; must not throw or block */
  push(row: EventRow): void;
  /** the hub is shutting down */
  close(reason: string): void;
}

const POLL_MS = 1_000;
const BATCH = 500;

export class EventHub {
  private readonly subs = new Set<HubSubscriber>();
  private position: Position = START;
  private unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private started: Promise<void> | undefined;
  /** for /metrics and tests */
  listening = false;

  constructor(private readonly app: AppContext) {}

  get subscribers(): number {
    return this.subs.size;
  }

  get current(): Position {
    return this.position;
  }

  /** Start following (idempotent): position = the newest event below the horizon. */
  start(): Promise<void> {
    this.started ??= (async () => {
      this.position = await newestPosition(this.app);
      this.connect();
      this.timer = setInterval(() => this.poke(), POLL_MS);
      this.timer.unref();
    })();
    this.started.catch(() => (this.started = undefined)); // the database was down: try again next time
    return this.started;
  }

  private connect(): void {
    if (this.stopped) return;
    // the process's one LISTEN connection, shared with the session cache (src/db/listener.ts)
    this.unsubscribe = listenerOf(this.app).subscribe('smartsupport_events', {
      onNotify: () => this.poke(),
      onUp: () => {
        this.listening = true;
        this.poke(); // backfill whatever was written while we were not listening
      },
      onDown: () => {
        this.listening = false;
      },
    });
  }

  /** Read new events now (coalesced: at most one read at a time, plus one follow-up). */
  poke(): void {
    if (this.stopped) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.readNew()
      .catch((err: Error) => this.app.log.warn({ err: err.message }, 'reading new events failed; will retry'))
      .finally(() => {
        this.reading = undefined;
        if (this.again) {
          this.again = false;
          this.poke();
        }
      });
  }

  private async readNew(): Promise<void> {
    if (!this.subs.size) {
      // nobody listening: just keep the position current (cheap) so a new stream starts from now
      const rows = await readEvents(this.app.db, null, { from: this.position }, BATCH);
      if (rows.length) this.position = positionOf(rows[rows.length - 1]!);
      if (rows.length === BATCH) this.again = true;
      return;
    }
    for (;;) {
      const rows = await readEvents(this.app.db, null, { from: this.position }, BATCH);
      for (const row of rows) {
        const p = positionOf(row);
        if (!after(p, this.position)) continue;
        this.position = p;
        for (const s of this.subs) s.push(row);
      }
      if (rows.length < BATCH) return;
    }
  }

  subscribe(s: HubSubscriber): () => void {
    this.subs.add(s);
    return () => this.subs.delete(s);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const s of this.subs) s.close('shutdown');
    this.subs.clear();
    this.unsubscribe?.();
    this.listening = false;
    await this.reading?.catch(() => undefined);
  }
}

/** The newest event below the commit horizon ("now" for a stream that does not resume). */
export async function newestPosition(app: AppContext): Promise<Position> {
  const r = await app.db.raw(`SELECT txid, seq FROM events WHERE txid < ${HORIZON_SQL} ORDER BY txid DESC, seq DESC LIMIT 1`);
  return r.rows[0] ? positionOf(r.rows[0]) : START;
}

const hubs = new WeakMap<AppContext, EventHub>();

/** The process's hub for `app` (created and started on first use; stopped with the app). */
export async function hubOf(app: AppContext): Promise<EventHub> {
  let hub = hubs.get(app);
  if (!hub) {
    const h = new EventHub(app);
    hub = h;
    hubs.set(app, h);
    app.onClose(() => h.stop());
  }
  await hub.start();
  return hub;
}

/** End every live stream of this process (before the HTTP server drains on shutdown). */
export async function stopEventStreams(app: AppContext): Promise<void> {
  await hubs.get(app)?.stop();
}
