import type { Knex } from 'knex';

/**
 * Service levels: business-hours calendars, SLA policies, each ticket's SLA clock (ticket_sla, one
 * row per ticket that matched a policy) and the warnings/breaches the timers fired (unique per
 * ticket, target, kind and due time, so many workers fire each one once).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE sla_calendars (
      id bigserial PRIMARY KEY,
      name text NOT NULL UNIQUE,
      time_zone text NOT NULL,
      hours jsonb NOT NULL,
      holidays jsonb NOT NULL DEFAULT '[]',
      is_default boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX sla_calendars_one_default ON sla_calendars (is_default) WHERE is_default;

    CREATE TABLE sla_policies (
      id bigserial PRIMARY KEY,
      name text NOT NULL UNIQUE,
      position integer NOT NULL,
      conditions jsonb NOT NULL DEFAULT '{}',
      first_response_minutes integer CHECK (first_response_minutes > 0),
      next_response_minutes integer CHECK (next_response_minutes > 0),
      resolution_minutes integer CHECK (resolution_minutes > 0),
      calendar_id bigint REFERENCES sla_calendars (id) ON DELETE RESTRICT,
      pause_statuses text[] NOT NULL DEFAULT '{}',
      escalation jsonb NOT NULL DEFAULT '{}',
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX sla_policies_position_idx ON sla_policies (position, id);
    CREATE INDEX sla_policies_calendar_idx ON sla_policies (calendar_id);

    -- A ticket keeps the policy it got: the targets, calendar and pause statuses are copied here
    -- (a policy edit re-copies them for open tickets in a job). Instants are timestamptz (UTC).
    CREATE TABLE ticket_sla (
      ticket_id bigint PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
      policy_id bigint REFERENCES sla_policies (id) ON DELETE SET NULL,
      policy_name text NOT NULL,
      reason text NOT NULL,
      targets jsonb NOT NULL,
      calendar jsonb,
      pause_statuses text[] NOT NULL DEFAULT '{}',
      escalation jsonb NOT NULL DEFAULT '{}',
      pauses jsonb NOT NULL DEFAULT '[]',
      first_response_start timestamptz,
      first_response_met_at timestamptz,
      first_response_due_at timestamptz,
      first_response_business_minutes integer,
      next_response_start timestamptz,
      next_response_met_at timestamptz,
      next_response_due_at timestamptz,
      resolution_start timestamptz,
      resolution_met_at timestamptz,
      resolution_due_at timestamptz,
      resolution_business_minutes integer,
      -- earliest due time of a target that is not met on time: breached ⇔ breach_at <= now()
      breach_at timestamptz,
      -- warning instant of the earliest running target: at risk ⇔ warn_at <= now() < breach_at
      warn_at timestamptz,
      timers jsonb NOT NULL DEFAULT '{}',
      -- the ticket's priority, category and assignee as of its last SLA change (the report groups by them without a join)
      priority text,
      category text,
      assignee_id bigint,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX ticket_sla_breach_at_idx ON ticket_sla (breach_at, ticket_id) WHERE breach_at IS NOT NULL;
    CREATE INDEX ticket_sla_policy_idx ON ticket_sla (policy_id);
    CREATE INDEX ticket_sla_created_idx ON ticket_sla (created_at);

    CREATE TABLE sla_alerts (
      id bigserial PRIMARY KEY,
      ticket_id bigint NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
      target text NOT NULL CHECK (target IN ('first_response', 'next_response', 'resolution')),
      kind text NOT NULL CHECK (kind IN ('warning', 'breach')),
      due_at timestamptz NOT NULL,
      escalated boolean NOT NULL DEFAULT false,
      fired_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (ticket_id, target, kind, due_at)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE sla_alerts; DROP TABLE ticket_sla; DROP TABLE sla_policies; DROP TABLE sla_calendars;');
}
