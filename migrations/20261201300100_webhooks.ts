import type { Knex } from 'knex';

/**
 * Webhook subscriptions and their delivery log (docs/events.md):
 * - webhook_endpoints: url, event type patterns, the signing secret (encrypted; the previous one is
 *   kept until its overlap window ends), who owns it (its visibility is that owner's), and the
 *   failure clock (`first_failure_at`) that disables an endpoint failing continuously.
 * - webhook_deliveries: one row per (endpoint, event), unique — the fan-out is idempotent. The body
 *   is frozen at fan-out (retries and redeliveries send the same bytes; the event may be purged).
 * - webhook_attempts: one row per HTTP attempt (auto or manual), never edited.
 * workflow_deliveries gets the same attempt lease (`lease_until`): two copies of one attempt job
 * cannot both send.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE webhook_endpoints (
      id bigserial PRIMARY KEY,
      url text NOT NULL,
      description text,
      event_types text[] NOT NULL DEFAULT '{*}',
      enabled boolean NOT NULL DEFAULT true,
      secret_enc text NOT NULL,
      previous_secret_enc text,
      previous_secret_expires_at timestamptz,
      owner_kind text NOT NULL CHECK (owner_kind IN ('employee', 'api_key')),
      owner_id bigint NOT NULL,
      owner_role text NOT NULL,
      owner_scopes text[] NOT NULL DEFAULT '{}',
      disabled_reason text,
      disabled_at timestamptz,
      first_failure_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
  await knex.raw('CREATE INDEX webhook_endpoints_enabled_idx ON webhook_endpoints (id) WHERE enabled');
  await knex.raw(`
    CREATE TABLE webhook_deliveries (
      id bigserial PRIMARY KEY,
      endpoint_id bigint NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
      event_id text NOT NULL,
      event_type text NOT NULL,
      payload text NOT NULL,
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed', 'dead', 'stopped', 'skipped')),
      attempts integer NOT NULL DEFAULT 0,
      last_status_code integer,
      last_error text,
      last_response text,
      next_attempt_at timestamptz,
      lease_until timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      delivered_at timestamptz,
      UNIQUE (endpoint_id, event_id)
    )`);
  await knex.raw('CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, id)');
  await knex.raw(`
    CREATE TABLE webhook_attempts (
      id bigserial PRIMARY KEY,
      delivery_id bigint NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
      n integer NOT NULL,
      trigger text NOT NULL CHECK (trigger IN ('auto', 'manual')),
      status_code integer,
      response text,
      error text,
      duration_ms integer NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
  await knex.raw('CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, id)');
  await knex.raw(`INSERT INTO event_cursors (name, txid, seq) VALUES ('webhooks', 0, 0) ON CONFLICT DO NOTHING`);
  await knex.raw('ALTER TABLE workflow_deliveries ADD COLUMN lease_until timestamptz');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE workflow_deliveries DROP COLUMN lease_until');
  await knex.raw(`DELETE FROM event_cursors WHERE name = 'webhooks'`);
  await knex.raw('DROP TABLE webhook_attempts');
  await knex.raw('DROP TABLE webhook_deliveries');
  await knex.raw('DROP TABLE webhook_endpoints');
}
