import type { Knex } from 'knex';

/**
 * `jit = off` for every session on this database: at a million tickets PostgreSQL spent 0.1–2.6 s
 * JIT-compiling 20-row list pages (the page size is a parameter, so the planner guesses big). The pool
 * also SETs it on each connection it opens (src/db/knex.ts), but behind PgBouncer in transaction mode
 * that SET lands on whichever server connection was free at that moment; a database default reaches
 * every server connection a pooler opens (as 20261202600000_client_connection_check does). Skipped
 * with a NOTICE when the role may not alter the database (then `ALTER ROLE … SET jit = off`).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    DO $$
    BEGIN
      EXECUTE format('ALTER DATABASE %I SET jit = off', current_database());
    EXCEPTION WHEN insufficient_privilege OR undefined_object THEN
      RAISE NOTICE 'jit not turned off on the database: %', SQLERRM;
    END $$;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DO $$
    BEGIN
      EXECUTE format('ALTER DATABASE %I RESET jit', current_database());
    EXCEPTION WHEN insufficient_privilege OR undefined_object THEN
      NULL;
    END $$;
  `);
}
