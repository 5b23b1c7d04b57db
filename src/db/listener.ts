/**
 * One LISTEN connection per process, on the direct (session) URL — LISTEN does not survive a
 * transaction pooler. Reconnects with backoff; `onDown` runs the moment the connection errors or
 * ends (anything learned from notifications may be stale from then on), `onUp` once LISTEN is
 * active again (notifications sent in between were missed). Consumers subscribe per channel.
 */
import pg from 'pg';

export interface ListenerEvents {
  onNotify(channel: string, payload: string): void;
  onUp(): void;
  onDown(): void;
}

export interface PgListener {
  /** true while LISTEN is active on a healthy connection */
  readonly up: boolean;
  stop(): Promise<void>;
}

export function startListener(url: string, channels: string[], events: ListenerEvents, log?: { warn(o: object, m: string): void }): PgListener {
  let client: pg.Client | undefined;
  let up = false;
  let stopped = false;
  let delay = 100;
  let timer: NodeJS.Timeout | undefined;

  const down = (why: string) => {
    if (up) log?.warn({ reason: why.slice(0, 200) }, 'LISTEN connection lost; caches that rely on it are bypassed until it is back');
    up = false;
    events.onDown();
    const c = client;
    client = undefined;
    c?.removeAllListeners('notification');
    c?.end().catch(() => undefined);
    if (!stopped && !timer) {
      timer = setTimeout(() => {
        timer = undefined;
        void connect();
      }, delay);
      timer.unref();
      delay = Math.min(delay * 2, 5_000);
    }
  };

  const connect = async () => {
    if (stopped) return;
    const c = new pg.Client({ connectionString: url, application_name: 'smartsupport-listen', keepAlive: true });
    client = c;
    c.on('error', (err) => {
      if (client === c) down(err.message);
    });
    c.on('end', () => {
      if (client === c) down('connection ended');
    });
    c.on('notification', (n) => events.onNotify(n.channel, n.payload ?? ''));
    try {
      await c.connect();
      for (const ch of channels) await c.query(`LISTEN "${ch.replace(/"/g, '')}"`);
      if (client !== c || stopped) return;
      up = true;
      delay = 100;
      events.onUp();
    } catch (err) {
      if (client === c) down((err as Error).message);
    }
  };

  void connect();
  return {
    get up() {
      return up;
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      up = false;
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}
