import type { Knex } from 'knex';

/**
 * Every revocation or deletion of a session is announced on channel `smartsupport_sessions` (payload:
 * the session id), delivered at commit, so each instance's session liveness cache can drop it
 * (src/features/auth/session-cache.ts). A trigger, so no code path — nor a manual UPDATE — can skip it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION notify_session_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('smartsupport_sessions', OLD.id::text);
      RETURN NULL;
    END $$;
    CREATE TRIGGER auth_sessions_revoked AFTER UPDATE OF revoked_at, expires_at ON auth_sessions
      FOR EACH ROW WHEN (NEW.revoked_at IS DISTINCT FROM OLD.revoked_at OR NEW.expires_at < OLD.expires_at)
      EXECUTE FUNCTION notify_session_revoked();
    -- purges delete sessions that are long dead: only a live session's deletion needs announcing
    CREATE TRIGGER auth_sessions_deleted AFTER DELETE ON auth_sessions
      FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND OLD.expires_at > now())
      EXECUTE FUNCTION notify_session_revoked();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER auth_sessions_deleted ON auth_sessions;
    DROP TRIGGER auth_sessions_revoked ON auth_sessions;
    DROP FUNCTION notify_session_revoked();
  `);
}
