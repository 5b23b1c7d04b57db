/**
 * The process's one LISTEN connection (per app), shared by every feature that needs notifications
 * (session revocations, the event stream). It uses the direct (session) URL — LISTEN does not
 * survive a transaction pooler — and reconnects with backoff (100 ms doubling to 5 s).
 *
 * A subscriber's `onDown` runs the moment the connection errors or ends (what it learned from
 * notifications may be stale from then on); `onUp` runs once its channel is LISTENed again
 * (notifications sent in between were missed: re-read or flush).
 */
import pg from 'pg';

export interface Subscriber {
  onNotify(payload: string): void;
  onUp?(): void;
  onDown?(): void;
}

interface Log {
  warn(o: object, m: string): void;
}

export class SharedListener {
  private readonly channels = new Map<string, Set<Subscriber>>();
  /** channels LISTENed on the current connection */
  private readonly active = new Set<string>();
  private client: pg.Client | undefined;
  private connected = false;
  private stopped = false;
  private delay = 100;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: string,
    private readonly log?: Log,
  ) {}

  /** true while `channel` is LISTENed on a healthy connection */
  isUp(channel: string): boolean {
    return this.connected && this.active.has(channel);
  }

  subscribe(channel: string, sub: Subscriber): () => void {
    if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`bad channel name ${channel}`);
    let subs = this.channels.get(channel);
    if (!subs) this.channels.set(channel, (subs = new Set()));
    subs.add(sub);
    if (this.connected && this.client) void this.listen(this.client, channel);
    else if (!this.client && !this.timer) void this.connect();
    return () => {
      subs!.delete(sub);
    };
  }

  private async listen(c: pg.Client, channel: string): Promise<void> {
    if (this.active.has(channel)) {
      for (const s of this.channels.get(channel) ?? []) s.onUp?.();
      return;
    }
    try {
      await c.query(`LISTEN ${channel}`);
    } catch (err) {
      if (this.client === c) this.down(c, (err as Error).message);
      return;
    }
    if (this.client !== c || !this.connected) return;
    this.active.add(channel);
    for (const s of this.channels.get(channel) ?? []) s.onUp?.();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const c = new pg.Client({ connectionString: this.url, application_name: 'smartsupport-listen', keepAlive: true });
    this.client = c;
    c.on('error', (err) => this.down(c, err.message));
    c.on('end', () => this.down(c, 'connection ended'));
    c.on('notification', (n) => {
      for (const s of this.channels.get(n.channel) ?? []) s.onNotify(n.payload ?? '');
    });
    try {
      await c.connect();
    } catch (err) {
      this.down(c, (err as Error).message);
      return;
    }
    if (this.client !== c || this.stopped) return;
    this.connected = true;
    this.delay = 100;
    for (const ch of this.channels.keys()) await this.listen(c, ch);
  }

  private down(c: pg.Client, why: string): void {
    if (this.client !== c) return;
    if (this.connected) this.log?.warn({ reason: why.slice(0, 200) }, 'LISTEN connection lost; reconnecting (caches that rely on it are bypassed meanwhile)');
    this.client = undefined;
    this.connected = false;
    this.active.clear();
    c.removeAllListeners('notification');
    c.end().catch(() => undefined);
    for (const subs of this.channels.values()) for (const s of subs) s.onDown?.();
    if (!this.stopped && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.connect();
      }, this.delay);
      this.timer.unref();
      this.delay = Math.min(this.delay * 2, 5_000);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const c = this.client;
    this.client = undefined;
    this.connected = false;
    this.active.clear();
    await c?.end().catch(() => undefined);
  }
}

const listeners = new WeakMap<object, SharedListener>();

/** The app's shared listener (created on first use, stopped when the app closes). */
export function listenerOf(app: { directUrl: string; log?: Log; onClose(fn: () => Promise<void>): void }): SharedListener {
  let l = listeners.get(app);
  if (!l) {
    const created = new SharedListener(app.directUrl, app.log);
    l = created;
    listeners.set(app, created);
    app.onClose(() => created.stop());
  }
  return l;
}
