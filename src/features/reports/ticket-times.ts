/**
 * The ticket report's response and resolution percentiles (p50/p90, seconds) by department and
 * priority, over every approved ticket (`GET /api/reports/tickets/`, docs/reports.md).
 *
 * Exact percentiles need every value: at 1M tickets that is a read of ~800,000 rows and a sort of
 * each group's values — seconds, on every request. So while the helpdesk has at most
 * TICKET_REPORT_LIVE_MAX tickets (default 100,000) they are computed on each request; above it they
 * come from a snapshot (`report_snapshots`, name `ticket_times`) that the `reports.ticket-times` job
 * refreshes every five minutes, once per cluster. Either way the report says when its figures were
 * computed (`times_as_of`, the compute statement's start: its snapshot of the tickets). A snapshot
 * older than three refresh intervals (the job not running) is recomputed by the request that finds it,
 * under an advisory lock, so concurrent requests compute it once and the others read the result.
 */
import type { Knex } from 'knex';
import { ticketCountsByStatus } from './ticket-counts.js';
import { SORT_MEMORY } from './ticket-reports.js';

export const TICKET_TIMES_REFRESH_SECONDS = 300;
/** A snapshot older than this is recomputed on read (the refresh job is not running). */
export const TICKET_TIMES_STALE_SECONDS = 3 * TICKET_TIMES_REFRESH_SECONDS;
const SNAPSHOT = 'ticket_times';
const LOCK_SQL = `SELECT pg_advisory_xact_lock(hashtext('smartsupport:ticket-times'))`;

export interface TicketTimesRow {
  department: string | null;
  priority: string | null;
  tickets: number;
  response_time_p50: number | null;
  response_time_p90: number | null;
  resolution_time_p50: number | null;
  resolution_time_p90: number | null;
}

export interface TicketTimes {
  times: TicketTimesRow[];
  as_of: Date;
}

/** The figures as one JSON array and the compute statement's start, in one statement. */
const COMPUTE_SQL = `
  SELECT statement_timestamp() AS as_of,
         coalesce(json_agg(x ORDER BY x.department, x.priority), '[]'::json) AS times
    FROM (SELECT department, priority, count(*)::int AS tickets,
                 percentile_cont(0.5) WITHIN GROUP (ORDER BY response_time) AS response_time_p50,
                 percentile_cont(0.9) WITHIN GROUP (ORDER BY response_time) AS response_time_p90,
                 percentile_cont(0.5) WITHIN GROUP (ORDER BY resolution_time) AS resolution_time_p50,
                 percentile_cont(0.9) WITHIN GROUP (ORDER BY resolution_time) AS resolution_time_p90
            FROM tickets WHERE approved_at IS NOT NULL
           GROUP BY department, priority) x`;

async function compute(trx: Knex.Transaction): Promise<TicketTimes> {
  // the groups' values are sorted in memory (they spill to disk with the default 4 MB at this size)
  await trx.raw(`SET LOCAL work_mem = '${SORT_MEMORY}'`);
  const { rows } = (await trx.raw(COMPUTE_SQL)) as { rows: { as_of: Date; times: TicketTimesRow[] }[] };
  return { times: rows[0]!.times, as_of: rows[0]!.as_of };
}

/**
 * Compute now and store as the snapshot, under the advisory lock. `ifStale`: first look again under
 * the lock and keep a snapshot that is fresh (another request or the job refreshed it meanwhile).
 */
export async function refreshTicketTimes(db: Knex, opts: { ifStale?: boolean } = {}): Promise<TicketTimes> {
  return db.transaction(async (trx) => {
    await trx.raw(LOCK_SQL);
    if (opts.ifStale) {
      const snap = await readSnapshot(trx);
      if (snap?.fresh) return { times: snap.times, as_of: snap.as_of };
    }
    const t = await compute(trx);
    await trx.raw(
      `INSERT INTO report_snapshots (name, computed_at, data) VALUES (?, ?, ?::jsonb)
       ON CONFLICT (name) DO UPDATE SET computed_at = excluded.computed_at, data = excluded.data`,
      [SNAPSHOT, t.as_of, JSON.stringify(t.times)],
    );
    return t;
  });
}

async function readSnapshot(db: Knex | Knex.Transaction): Promise<(TicketTimes & { fresh: boolean }) | undefined> {
  const { rows } = (await db.raw(
    `SELECT computed_at AS as_of, data AS times, computed_at > now() - make_interval(secs => ?) AS fresh FROM report_snapshots WHERE name = ?`,
    [TICKET_TIMES_STALE_SECONDS, SNAPSHOT],
  )) as { rows: (TicketTimes & { fresh: boolean })[] };
  return rows[0];
}

/** Tickets in all, from the count rollup's per-status counts (ticketCountsByStatus). */
const totalOf = (byStatus: Map<string, number>) => [...byStatus.values()].reduce((a, b) => a + b, 0);

/**
 * The report's times, given the helpdesk's counts by status (from the count rollup): computed now
 * at or below `liveMax` tickets, else the snapshot (recomputed first when missing or stale).
 */
export async function ticketTimes(db: Knex, byStatus: Map<string, number>, liveMax: number): Promise<TicketTimes> {
  if (totalOf(byStatus) <= liveMax) return db.transaction(compute);
  const snap = await readSnapshot(db);
  if (snap?.fresh) return { times: snap.times, as_of: snap.as_of };
  return refreshTicketTimes(db, { ifStale: true });
}

/**
 * The `reports.ticket-times` job: refresh the snapshot when the helpdesk is past `liveMax` tickets
 * (at or below it the report computes the times on each request and reads no snapshot). Returns the
 * stored figures, or undefined when it had nothing to do.
 */
export async function refreshTicketTimesIfLarge(db: Knex, liveMax: number): Promise<TicketTimes | undefined> {
  if (totalOf(await ticketCountsByStatus(db)) <= liveMax) return undefined;
  return refreshTicketTimes(db);
}
