import type { Knex } from 'knex';

/**
 * Open live event streams, one row each, so the per-caller limit (EVENT_STREAM_MAX_PER_CALLER)
 * holds across every instance (src/features/events/stream-slots.ts): inserted on open under a
 * per-caller advisory lock after counting the live rows, deleted on close, refreshed by a heartbeat
 * of the owning instance; rows whose heartbeat is older than EVENT_STREAM_LEASE_SECONDS (a killed
 * instance) are ignored and purged. UNLOGGED: after a database crash every stream is gone anyway.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE UNLOGGED TABLE event_streams (
      id bigserial PRIMARY KEY,
      caller text NOT NULL,
      instance_id text NOT NULL,
      opened_at timestamptz NOT NULL DEFAULT now(),
      heartbeat_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX event_streams_caller_idx ON event_streams (caller, heartbeat_at);
    CREATE INDEX event_streams_instance_idx ON event_streams (instance_id);
    CREATE INDEX event_streams_heartbeat_idx ON event_streams (heartbeat_at);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE event_streams');
}
