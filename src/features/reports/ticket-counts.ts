/**
 * Exact ticket counts per key (status, category, department, priority, assignee) without reading
 * tickets (migration 20261203100000_ticket_count_rollup; docs/reports.md, "Counts from a rollup").
 *
 * Triggers on tickets append the net ±n of every write statement to `ticket_count_deltas` in the
 * writing transaction; the fold moves those rows into `ticket_counts`. A key's count is the sum over
 * both tables, read in ONE statement (one snapshot): the fold deletes deltas and adds their sum to
 * the counts in one transaction, so every snapshot sees either the deltas or their sum, never both
 * or neither — the total is exact at every moment, with or without folds.
 */
import type { Knex } from 'knex';

/**
 * The count rows as a relation (alias it, e.g. `${TICKET_COUNTS_SQL} t`): folded totals plus the
 * deltas not folded yet. Sum `n` per group; filters on the key columns behave as on tickets.
 */
export const TICKET_COUNTS_SQL = `(SELECT status, category, department, priority, assigned_to, n FROM ticket_counts
     UNION ALL SELECT status, category, department, priority, assigned_to, d FROM ticket_count_deltas)`;

/** Serialises folds (and the migration's rebuild function, which takes the same lock). */
const FOLD_LOCK_SQL = `SELECT pg_advisory_xact_lock(hashtext('smartsupport:ticket-counts'))`;

/** Same expressions as the unique index ticket_counts_key: NULLs made comparable (PostgreSQL < 15 has no NULLS NOT DISTINCT). */
const CONFLICT_KEY = `(status, category, (coalesce(department, '')), (coalesce(priority, '')), (coalesce(assigned_to, 0)))`;
const KEY = 'status, category, department, priority, assigned_to';

export interface FoldResult {
  /** delta rows moved into ticket_counts */
  deltas: number;
  /** keys whose count changed */
  keys: number;
  /** keys whose count reached zero, removed */
  emptied: number;
}

/**
 * Fold every committed delta into ticket_counts: one statement deletes them and upserts their sums
 * per key. Deltas a running transaction is still writing are not visible to it and wait for the
 * next fold. Keys that reach zero are removed in the same transaction (readers ignore them anyway).
 */
export async function foldTicketCounts(db: Knex): Promise<FoldResult> {
  return db.transaction(async (trx) => {
    // its own statement first: the fold statement's snapshot then includes the previous fold's commit
    await trx.raw(FOLD_LOCK_SQL);
    const { rows } = (await trx.raw(
      `WITH d AS (DELETE FROM ticket_count_deltas RETURNING ${KEY}, d),
            s AS (SELECT ${KEY}, sum(d) AS d FROM d GROUP BY ${KEY}),
            u AS (INSERT INTO ticket_counts AS c (${KEY}, n)
                  SELECT ${KEY}, d FROM s WHERE d <> 0
                  ON CONFLICT ${CONFLICT_KEY} DO UPDATE SET n = c.n + excluded.n
                  RETURNING c.status, c.category, c.department, c.priority, c.assigned_to, c.n)
       SELECT (SELECT count(*) FROM d)::int AS deltas, (SELECT count(*) FROM u)::int AS keys,
              (SELECT json_agg(json_build_object('status', status, 'category', category, 'department', department, 'priority', priority, 'assigned_to', assigned_to)) FROM u WHERE n = 0) AS emptied`,
    )) as { rows: { deltas: number; keys: number; emptied: unknown[] | null }[] };
    const r = rows[0]!;
    if (r.emptied?.length) {
      await trx.raw(
        `DELETE FROM ticket_counts c
          USING json_to_recordset(?::json) AS z(status text, category text, department text, priority text, assigned_to bigint)
          WHERE c.status = z.status AND c.category = z.category AND coalesce(c.department, '') = coalesce(z.department, '')
            AND coalesce(c.priority, '') = coalesce(z.priority, '') AND coalesce(c.assigned_to, 0) = coalesce(z.assigned_to, 0) AND c.n = 0`,
        [JSON.stringify(r.emptied)],
      );
    }
    return { deltas: r.deltas, keys: r.keys, emptied: r.emptied?.length ?? 0 };
  });
}

/** Tickets per status over the whole table (statuses without tickets are absent). */
export async function ticketCountsByStatus(db: Knex): Promise<Map<string, number>> {
  const { rows } = (await db.raw(`SELECT t.status, sum(t.n)::int AS n FROM ${TICKET_COUNTS_SQL} t GROUP BY t.status HAVING sum(t.n) <> 0`)) as { rows: { status: string; n: number }[] };
  return new Map(rows.map((r) => [r.status, r.n]));
}
