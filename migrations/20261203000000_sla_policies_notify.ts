import type { Knex } from 'knex';

/**
 * Every change to the SLA policies is announced on channel `smartsupport_sla_policies`, delivered at
 * commit, so each process's copy of the policies (src/features/sla/policy-cache.ts) is dropped and
 * re-read. A statement-level trigger: a change is rare, and one notification per statement is enough
 * (the cache re-reads the whole, short list). TRUNCATE included, so no way of changing the table —
 * the API, a seed, a manual statement — can leave a stale copy behind.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION notify_sla_policies_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('smartsupport_sla_policies', '');
      RETURN NULL;
    END $$;
    CREATE TRIGGER sla_policies_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON sla_policies
      FOR EACH STATEMENT EXECUTE FUNCTION notify_sla_policies_changed();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER sla_policies_changed ON sla_policies;
    DROP FUNCTION notify_sla_policies_changed();
  `);
}
