import type { Knex } from 'knex';

/**
 * The events trigger NOTIFYs inside the writing transaction, and PostgreSQL serialises every
 * transaction that has NOTIFYed, through its commit and WAL flush (a database-wide lock taken in
 * PreCommit_Notify): at 20 concurrent ticket creates that lock, not the work, set the pace
 * (≈130 commits/s against ≈500 without it, bench/minimal.ts, docs/operations.md).
 *
 * SmartSupport's own connections (src/db/event-notify.ts) set `smartsupport.notify_after_commit`;
 * for them the trigger only raises a NOTICE, and the process sends one coalesced NOTIFY after the
 * transaction has ended, in a transaction of its own. Every other writer (psql, an older release
 * during a rolling upgrade, a connection through a transaction pooler) still NOTIFYs in the
 * transaction, as before. Listeners also poll once a second, so nothing depends on either.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE OR REPLACE FUNCTION smartsupport_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF current_setting('smartsupport.notify_after_commit', true) = 'on' THEN
        RAISE NOTICE 'smartsupport_events_written';
      ELSE
        PERFORM pg_notify('smartsupport_events', '');
      END IF;
      RETURN NULL;
    END $$`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE OR REPLACE FUNCTION smartsupport_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('smartsupport_events', '');
      RETURN NULL;
    END $$`);
}
