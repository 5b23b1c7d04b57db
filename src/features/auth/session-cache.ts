/**
 * Session liveness without a database round trip per request.
 *
 * An access token names its session (`sid`); a revoked session must stop working on every instance.
 * Each process caches "is session X live?" and keeps the answer only while it can hear revocations:
 *
 * - every revocation (and deletion) of an `auth_sessions` row sends `NOTIFY smartsupport_sessions`
 *   with the session id, from a trigger, so no code path can forget it; PostgreSQL delivers it when
 *   the revoking transaction commits, and the entry is dropped on receipt;
 * - the cache is used only while the LISTEN connection is up: when it drops, the cache is flushed
 *   and every request asks the database until LISTEN is active again (then it is flushed once more,
 *   since notifications sent meanwhile were missed);
 * - an entry lives at most SESSION_CACHE_TTL_MS (default 5 s) and never past the session's expiry,
 *   a safety net should a notification be lost on a connection that still looks healthy;
 * - a lookup that started before an invalidation never writes its (possibly stale) answer back.
 *
 * SESSION_CACHE_TTL_MS=0 turns the cache off (one query per request, as before).
 */
import type { Knex } from 'knex';
import { afterCommit } from '../../db/after-commit.js';
import { queryPrepared } from '../../db/knex.js';
import type { SharedListener } from '../../db/listener.js';

export const SESSIONS_CHANNEL = 'smartsupport_sessions';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_ENTRIES = 100_000;

/** Every cache in this process (one per app; tests run several). */
const instances = new Set<SessionLiveness>();

/**
 * Call where this process revokes sessions: once `db` (a transaction or the pool) has committed,
 * every cache in this process is flushed, so the next request here already sees the revocation —
 * the NOTIFY reaches this process too, but a moment after the revoking request has answered.
 */
export function flushAfterCommit(db: Knex | Knex.Transaction): void {
  afterCommit(db, () => {
    for (const c of instances) c.flush();
  });
}

export class SessionLiveness {
  private readonly cache = new Map<string, { revoked: boolean; until: number }>();
  /** bumped by every invalidation: a lookup that saw another epoch does not cache its answer */
  private epoch = 0;
  private listener: SharedListener | undefined;
  private unsubscribe: (() => void) | undefined;
  /** counters for tests and metrics */
  readonly stats = { hits: 0, misses: 0, invalidations: 0, flushes: 0 };

  constructor(
    private readonly db: Knex,
    private readonly ttlMs: number,
  ) {}

  /** Start listening for revocations on the process's shared listener (no-op when the cache is off). */
  listen(listener: SharedListener): void {
    if (this.ttlMs <= 0 || this.listener) return;
    instances.add(this);
    this.listener = listener;
    this.unsubscribe = listener.subscribe(SESSIONS_CHANNEL, {
      onNotify: (payload) => this.invalidate(payload),
      onUp: () => this.flush(),
      onDown: () => this.flush(),
    });
  }

  stop(): void {
    instances.delete(this);
    this.unsubscribe?.();
    this.flush();
  }

  invalidate(sessionId: string): void {
    this.epoch++;
    this.stats.invalidations++;
    this.cache.delete(sessionId);
  }

  flush(): void {
    this.epoch++;
    this.stats.flushes++;
    this.cache.clear();
  }

  private get trusted(): boolean {
    return this.ttlMs > 0 && this.listener?.isUp(SESSIONS_CHANNEL) === true;
  }

  async isRevoked(sessionId: string): Promise<boolean> {
    if (!UUID.test(sessionId)) return true;
    const now = Date.now();
    if (this.trusted) {
      const hit = this.cache.get(sessionId);
      if (hit && hit.until > now) {
        this.stats.hits++;
        return hit.revoked;
      }
    }
    this.stats.misses++;
    const epoch = this.epoch;
    const db = this.db;
    const [row] = await queryPrepared<{ live: boolean; expires_in_ms: number }>(
      db,
      'session_state',
      db('auth_sessions')
        .where({ id: sessionId })
        .first(db.raw('(revoked_at IS NULL AND expires_at > now()) AS live'), db.raw('(extract(epoch FROM expires_at - now()) * 1000)::float8 AS expires_in_ms')),
    );
    const revoked = !row || !row.live;
    if (this.trusted && epoch === this.epoch) {
      if (this.cache.size >= MAX_ENTRIES) this.cache.clear();
      const until = revoked ? now + this.ttlMs : now + Math.min(this.ttlMs, Math.max(0, Number(row!.expires_in_ms)));
      this.cache.set(sessionId, { revoked, until });
    }
    return revoked;
  }
}
