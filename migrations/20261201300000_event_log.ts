import type { Knex } from 'knex';

/**
 * The event log: one row per state change, written in the same transaction as the change.
 *
 * Order: `(txid, seq)`. `seq` comes from a sequence (assigned at insert), `txid` is the writing
 * transaction's id. Transactions commit out of sequence order, so the feed, the stream and the
 * webhook dispatcher read only rows whose transaction is older than every transaction still running
 * (`txid < pg_snapshot_xmin(pg_current_snapshot())`): that set never grows behind a reader's cursor,
 * so a cursor `(txid, seq)` never skips an event that commits late. The public id
 * `evt_<txid hex 12><seq hex 12>` sorts the same way.
 *
 * `audience_employee_id`: the one employee (besides staff) who may see the event — the ticket's owner
 * or the employee the event is about. `visibility`: all | staff (internal notes, staff-only data) |
 * admin. `scope`: the API-key scope that lets a key see it (null: only System Admin keys).
 *
 * A statement trigger sends an empty NOTIFY on `smartsupport_events` so listeners wake up; they read
 * the rows themselves (payloads are capped, and a LISTEN connection can miss notifications).
 * `event_cursors` keeps named reader positions (the webhook dispatcher's).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE events (
      seq bigserial PRIMARY KEY,
      txid bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
      type text NOT NULL CHECK (type ~ '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$'),
      actor_kind text CHECK (actor_kind IN ('employee', 'api_key', 'system')),
      actor_id bigint,
      actor_display text,
      object_type text NOT NULL,
      object_id text NOT NULL,
      ticket_id bigint,
      subject_employee_id bigint,
      audience_employee_id bigint,
      visibility text NOT NULL DEFAULT 'all' CHECK (visibility IN ('all', 'staff', 'admin')),
      scope text,
      data jsonb NOT NULL DEFAULT '{}',
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
  await knex.raw('CREATE INDEX events_order_idx ON events (txid, seq)');
  await knex.raw('CREATE INDEX events_audience_idx ON events (audience_employee_id, txid, seq) WHERE audience_employee_id IS NOT NULL');
  await knex.raw('CREATE INDEX events_object_idx ON events (object_type, object_id, txid, seq)');
  await knex.raw('CREATE INDEX events_ticket_idx ON events (ticket_id, txid, seq) WHERE ticket_id IS NOT NULL');
  await knex.raw('CREATE INDEX events_created_idx ON events (created_at)');
  await knex.raw(`
    CREATE FUNCTION smartsupport_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('smartsupport_events', '');
      RETURN NULL;
    END $$`);
  await knex.raw(`CREATE TRIGGER events_notify AFTER INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION smartsupport_events_notify()`);
  await knex.raw(`
    CREATE TABLE event_cursors (
      name text PRIMARY KEY,
      txid bigint NOT NULL DEFAULT 0,
      seq bigint NOT NULL DEFAULT 0,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE event_cursors');
  await knex.raw('DROP TABLE events');
  await knex.raw('DROP FUNCTION smartsupport_events_notify()');
}
