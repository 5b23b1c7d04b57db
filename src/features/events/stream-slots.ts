/**
 * The concurrent-stream limit per caller (EVENT_STREAM_MAX_PER_CALLER), counted across the cluster:
 * every open stream is a row of `event_streams` (caller, instance, opened_at, heartbeat_at).
 *
 * - open: in one transaction, take a per-caller advisory lock (two instances opening for the same
 *   caller at once queue here, so neither can overshoot), purge that caller's stale rows, count the
 *   live ones, insert when below the limit;
 * - close: delete the row;
 * - every instance refreshes `heartbeat_at` of its rows every lease/3 and purges rows whose
 *   heartbeat is older than EVENT_STREAM_LEASE_SECONDS; such rows (an instance that was SIGKILLed or
 *   lost its database) are never counted, so their slots come back within the lease.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { AppContext } from '../../app/context.js';

/** advisory lock namespace (first key of the two-key form): 'SSES' */
const LOCK_NS = 0x5353_4553;

export const INSTANCE_ID = `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

interface Slots {
  local: Set<number>;
  timer: NodeJS.Timeout | undefined;
  pending: Set<Promise<unknown>>;
}
const slotsByApp = new WeakMap<AppContext, Slots>();

function slotsOf(app: AppContext): Slots {
  let s = slotsByApp.get(app);
  if (!s) {
    const created: Slots = { local: new Set(), timer: undefined, pending: new Set() };
    slotsByApp.set(app, created);
    app.onClose(async () => {
      if (created.timer) clearInterval(created.timer);
      created.timer = undefined;
      await Promise.allSettled([...created.pending]);
    });
    s = created;
  }
  return s;
}

const track = (s: Slots, p: Promise<unknown>) => {
  s.pending.add(p);
  void p.finally(() => s.pending.delete(p));
};

/** Refresh this instance's rows and purge every stale one (any instance's). */
async function beat(app: AppContext): Promise<void> {
  const lease = app.config.eventStreamLeaseSeconds;
  await app.db.raw(`UPDATE event_streams SET heartbeat_at = now() WHERE instance_id = ?`, [INSTANCE_ID]);
  await app.db.raw(`DELETE FROM event_streams WHERE heartbeat_at < now() - make_interval(secs => ?)`, [lease]);
}

function startBeating(app: AppContext, s: Slots): void {
  if (s.timer) return;
  s.timer = setInterval(() => {
    if (!s.local.size) {
      clearInterval(s.timer);
      s.timer = undefined;
      return;
    }
    track(s, beat(app).catch((err: Error) => app.log.warn({ err: err.message }, 'event stream heartbeat failed')));
  }, Math.max(250, Math.floor((app.config.eventStreamLeaseSeconds * 1000) / 3)));
  s.timer.unref();
}

/**
 * Take a slot for `caller`, or return null when the caller already has the limit open anywhere in
 * the cluster. The returned function frees it (idempotent).
 */
export async function acquireStreamSlot(app: AppContext, caller: string): Promise<(() => void) | null> {
  const max = app.config.eventStreamMaxPerCaller;
  const lease = app.config.eventStreamLeaseSeconds;
  const id = await app.db.transaction(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock(?, hashtext(?))', [LOCK_NS, caller]);
    await trx.raw(`DELETE FROM event_streams WHERE caller = ? AND heartbeat_at < now() - make_interval(secs => ?)`, [caller, lease]);
    const { rows } = await trx.raw(`SELECT count(*)::int AS n FROM event_streams WHERE caller = ?`, [caller]);
    if (rows[0].n >= max) return null;
    const ins = await trx.raw(`INSERT INTO event_streams (caller, instance_id) VALUES (?, ?) RETURNING id`, [caller, INSTANCE_ID]);
    return Number(ins.rows[0].id);
  });
  if (id === null) return null;
  const s = slotsOf(app);
  s.local.add(id);
  startBeating(app, s);
  let freed = false;
  return () => {
    if (freed) return;
    freed = true;
    s.local.delete(id);
    // a failed delete is harmless: the row stops being refreshed and ages out within the lease
    track(s, app.db.raw('DELETE FROM event_streams WHERE id = ?', [id]).catch((err: Error) => app.log.warn({ err: err.message }, 'event stream slot release failed')));
  };
}

/** Streams open in this process (all callers). */
export function localStreams(app: AppContext): number {
  return slotsByApp.get(app)?.local.size ?? 0;
}
