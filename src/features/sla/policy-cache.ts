/**
 * The SLA policies, per process, without a database round trip per ticket created.
 *
 * Every new ticket is matched against the policies (first match by position), so reading them was
 * one of the two statements of the hottest write. They change rarely, and only through SQL that a
 * trigger watches (migrations/20261203000000_sla_policies_notify.ts): every INSERT, UPDATE, DELETE or
 * TRUNCATE of `sla_policies` sends `NOTIFY smartsupport_sla_policies`, delivered when the change
 * commits. The cache follows the session-liveness cache's rules (src/features/auth/session-cache.ts):
 *
 * - it is used only while this process's LISTEN connection is up; when that drops the cache is
 *   flushed and every match reads the table again until LISTEN is back (then it is flushed once more,
 *   as notifications sent meanwhile were missed);
 * - a copy lives at most POLICY_CACHE_TTL_MS, a safety net should a notification be lost;
 * - a read that started before an invalidation never stores its (possibly older) answer;
 * - the process that changed a policy flushes its own cache once its transaction has committed
 *   (`flushPolicyCachesAfterCommit`), so its next ticket already sees the change.
 *
 * So a ticket created on another instance within the notification's delivery time of a policy
 * change (milliseconds) is matched as if it had arrived just before the change — as it could have.
 * Re-evaluation of an existing ticket (priority or category changed) reads the policies inside its
 * own transaction, not from here.
 */
import type { Knex } from 'knex';
import { afterCommit } from '../../db/after-commit.js';
import { listenerOf, type SharedListener } from '../../db/listener.js';
import type { PolicyRow } from './sla-engine.js';

export const SLA_POLICIES_CHANNEL = 'smartsupport_sla_policies';
export const POLICY_CACHE_TTL_MS = 5_000;

const instances = new Set<PolicyCache>();

export class PolicyCache {
  private value: { rows: PolicyRow[]; until: number } | undefined;
  private epoch = 0;
  private listener: SharedListener | undefined;
  private unsubscribe: (() => void) | undefined;
  readonly stats = { hits: 0, misses: 0, invalidations: 0 };

  constructor(
    private readonly db: Knex,
    private readonly ttlMs = POLICY_CACHE_TTL_MS,
  ) {}

  listen(listener: SharedListener): void {
    if (this.listener || this.ttlMs <= 0) return;
    instances.add(this);
    this.listener = listener;
    this.unsubscribe = listener.subscribe(SLA_POLICIES_CHANNEL, {
      onNotify: () => this.flush(),
      onUp: () => this.flush(),
      onDown: () => this.flush(),
    });
  }

  stop(): void {
    instances.delete(this);
    this.unsubscribe?.();
    this.flush();
  }

  flush(): void {
    this.epoch++;
    this.stats.invalidations++;
    this.value = undefined;
  }

  /** The policies in match order (position, then id). */
  async get(): Promise<PolicyRow[]> {
    const trusted = this.ttlMs > 0 && this.listener?.isUp(SLA_POLICIES_CHANNEL) === true;
    const now = Date.now();
    if (trusted && this.value && this.value.until > now) {
      this.stats.hits++;
      return this.value.rows;
    }
    this.stats.misses++;
    const epoch = this.epoch;
    const rows = await readPolicies(this.db);
    if (trusted && epoch === this.epoch) this.value = { rows, until: now + this.ttlMs };
    return rows;
  }
}

export async function readPolicies(db: Knex | Knex.Transaction): Promise<PolicyRow[]> {
  return (await db('sla_policies').orderBy([{ column: 'position' }, { column: 'id' }]).select('*')) as PolicyRow[];
}

const byApp = new WeakMap<object, PolicyCache>();

/** The app's policy cache (created and listening on first use, stopped when the app closes). */
export function policyCacheOf(app: { db: Knex; directUrl: string; log?: { warn(o: object, m: string): void }; onClose(fn: () => Promise<void>): void }): PolicyCache {
  let c = byApp.get(app);
  if (!c) {
    const created = new PolicyCache(app.db);
    c = created;
    byApp.set(app, created);
    created.listen(listenerOf(app));
    app.onClose(async () => created.stop());
  }
  return c;
}

/** Call where this process changes policies: once `db` has committed, every cache here is flushed. */
export function flushPolicyCachesAfterCommit(db: Knex | Knex.Transaction): void {
  afterCommit(db, () => {
    for (const c of instances) c.flush();
  });
}
