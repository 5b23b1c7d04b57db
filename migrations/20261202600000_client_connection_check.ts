import type { Knex } from 'knex';

/**
 * `client_connection_check_interval = 1s` for every session on this database (PostgreSQL ≥ 14): a
 * statement whose client is gone — the API process was SIGKILLed — is cancelled within a second
 * instead of running on and committing a write nobody will hear about (src/http/idempotency.ts relies
 * on it for keys cut by a kill). The pool also SETs it on each connection it opens (src/db/knex.ts),
 * but behind PgBouncer in transaction mode that SET lands on whichever server connection was free at
 * that moment, not on the ones later queries run on; a database default reaches every server
 * connection a pooler opens. Skipped with a NOTICE when the role may not alter the database (then set
 * it on the role, or with PgBouncer's `connect_query`; docs/deployment.md#pgbouncer) or when the server
 * predates the setting.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    DO $$
    BEGIN
      EXECUTE format('ALTER DATABASE %I SET client_connection_check_interval = %L', current_database(), '1s');
    EXCEPTION WHEN insufficient_privilege OR undefined_object THEN
      RAISE NOTICE 'client_connection_check_interval not set on the database: %', SQLERRM;
    END $$;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DO $$
    BEGIN
      EXECUTE format('ALTER DATABASE %I RESET client_connection_check_interval', current_database());
    EXCEPTION WHEN insufficient_privilege OR undefined_object THEN
      NULL;
    END $$;
  `);
}
