import type { Knex } from 'knex';

/**
 * Ticket counts per key (status, category, department, priority, assignee) that the reports read
 * instead of counting tickets: backlog's "open now", workload's open per assignee and the ticket
 * report's counts by status cost the number of keys, not a bitmap heap scan of most of the table
 * (docs/reports.md, "Counts from a rollup").
 *
 * - `ticket_count_deltas`: insert-only ±n rows written by statement-level triggers on tickets in the
 *   writing transaction (one grouped INSERT per statement, from its transition tables). Writers only
 *   ever insert here, so concurrent ticket writes never wait on one another.
 * - `ticket_counts`: the folded totals; the fold (src/features/reports/ticket-counts.ts, a job every
 *   minute) moves deltas into it in one statement under an advisory lock. The count of a key is
 *   always `sum(n) + sum(d)` over both tables, read in one statement.
 *
 * The key's nullable columns are made unique with coalesce() in an expression index rather than
 * `UNIQUE NULLS NOT DISTINCT`, which needs PostgreSQL 15 (the embedded server is 18, CI's 15, managed
 * services still run 13 and 14). '' and 0 are not values a ticket can hold: department and priority
 * have CHECK constraints, employee ids start at 1.
 *
 * The backfill counts every ticket once while ticket writes wait (CREATE TRIGGER locks the table
 * until this migration commits): about a second per million tickets.
 */
const KEY = 'status, category, department, priority, assigned_to';
const UNIQUE_KEY = `status, category, (coalesce(department, '')), (coalesce(priority, '')), (coalesce(assigned_to, 0))`;
/** the fold's and the rebuild's advisory lock (src/features/reports/ticket-counts.ts says the same) */
const LOCK = `hashtext('smartsupport:ticket-counts')`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE ticket_count_deltas (
      status text NOT NULL,
      category text NOT NULL,
      department text,
      priority text,
      assigned_to bigint,
      d integer NOT NULL
    );
    -- no primary key (an insert costs one heap tuple, no index); deletes by the fold still replicate
    ALTER TABLE ticket_count_deltas REPLICA IDENTITY FULL;

    CREATE TABLE ticket_counts (
      status text NOT NULL,
      category text NOT NULL,
      department text,
      priority text,
      assigned_to bigint,
      n bigint NOT NULL
    );
    CREATE UNIQUE INDEX ticket_counts_key ON ticket_counts (${UNIQUE_KEY});

    -- one grouped row per key a statement touched; an UPDATE that changes no key column nets to zero and inserts nothing
    CREATE FUNCTION smartsupport_ticket_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO ticket_count_deltas (${KEY}, d) SELECT ${KEY}, count(*) FROM ticket_counts_new GROUP BY ${KEY};
      RETURN NULL;
    END $$;
    CREATE FUNCTION smartsupport_ticket_counts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO ticket_count_deltas (${KEY}, d)
      SELECT ${KEY}, sum(d) FROM (
        SELECT ${KEY}, 1 AS d FROM ticket_counts_new
        UNION ALL
        SELECT ${KEY}, -1 FROM ticket_counts_old) c
      GROUP BY ${KEY} HAVING sum(d) <> 0;
      RETURN NULL;
    END $$;
    CREATE FUNCTION smartsupport_ticket_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO ticket_count_deltas (${KEY}, d) SELECT ${KEY}, -count(*) FROM ticket_counts_old GROUP BY ${KEY};
      RETURN NULL;
    END $$;
    -- TRUNCATE holds ACCESS EXCLUSIVE on tickets: no writer is left whose deltas could survive
    CREATE FUNCTION smartsupport_ticket_counts_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      TRUNCATE ticket_count_deltas, ticket_counts;
      RETURN NULL;
    END $$;

    -- transition tables need one trigger per event (and no column list)
    CREATE TRIGGER ticket_counts_insert AFTER INSERT ON tickets REFERENCING NEW TABLE AS ticket_counts_new
      FOR EACH STATEMENT EXECUTE FUNCTION smartsupport_ticket_counts_inserted();
    CREATE TRIGGER ticket_counts_update AFTER UPDATE ON tickets REFERENCING OLD TABLE AS ticket_counts_old NEW TABLE AS ticket_counts_new
      FOR EACH STATEMENT EXECUTE FUNCTION smartsupport_ticket_counts_updated();
    CREATE TRIGGER ticket_counts_delete AFTER DELETE ON tickets REFERENCING OLD TABLE AS ticket_counts_old
      FOR EACH STATEMENT EXECUTE FUNCTION smartsupport_ticket_counts_deleted();
    CREATE TRIGGER ticket_counts_truncate AFTER TRUNCATE ON tickets
      FOR EACH STATEMENT EXECUTE FUNCTION smartsupport_ticket_counts_truncated();

    -- Recount from tickets: the backfill below, and after a load that bypassed triggers
    -- (session_replication_role = replica). Ticket writes wait meanwhile; call it in READ COMMITTED.
    CREATE FUNCTION smartsupport_ticket_counts_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
    DECLARE total bigint;
    BEGIN
      LOCK TABLE tickets IN SHARE MODE;
      PERFORM pg_advisory_xact_lock(${LOCK});
      DELETE FROM ticket_count_deltas;
      DELETE FROM ticket_counts;
      INSERT INTO ticket_counts (${KEY}, n) SELECT ${KEY}, count(*) FROM tickets GROUP BY ${KEY};
      SELECT coalesce(sum(n), 0) INTO total FROM ticket_counts;
      RETURN total;
    END $$;
    SELECT smartsupport_ticket_counts_rebuild();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER ticket_counts_truncate ON tickets;
    DROP TRIGGER ticket_counts_delete ON tickets;
    DROP TRIGGER ticket_counts_update ON tickets;
    DROP TRIGGER ticket_counts_insert ON tickets;
    DROP FUNCTION smartsupport_ticket_counts_rebuild();
    DROP FUNCTION smartsupport_ticket_counts_truncated();
    DROP FUNCTION smartsupport_ticket_counts_deleted();
    DROP FUNCTION smartsupport_ticket_counts_updated();
    DROP FUNCTION smartsupport_ticket_counts_inserted();
    DROP TABLE ticket_counts;
    DROP TABLE ticket_count_deltas;
  `);
}
