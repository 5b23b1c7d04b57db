/**
 * NOTIFY of new events after the writing transaction has committed, not inside it.
 *
 * PostgreSQL serialises every transaction that has NOTIFYed through its commit (PreCommit_Notify
 * takes a database-wide lock held until the commit record is flushed), so a NOTIFY in the trigger
 * of the events table put every ticket write of every instance in one queue. On SmartSupport's own
 * connections (`smartsupport.notify_after_commit = on`, set when the pool opens them) the trigger
 * raises a NOTICE instead (migrations/20261202400000_events_notify_after_commit.ts); this module
 * sees it, waits for the connection to report the transaction over (ReadyForQuery, status idle)
 * and then sends one NOTIFY for the whole process — coalesced (at most one in flight plus one
 * follow-up) and without waiting for its own WAL flush (a wake-up hint: listeners read the rows
 * from the table, and poll once a second besides).
 */
import type { Knex } from 'knex';

export const EVENTS_WRITTEN_NOTICE = 'smartsupport_events_written';
export const NOTIFY_AFTER_COMMIT_SETTING = `SET smartsupport.notify_after_commit = 'on'`;

interface PgClientLike {
  on(event: 'notice', cb: (msg: { message?: string }) => void): unknown;
  connection?: { on(event: 'readyForQuery', cb: (msg: { status?: string }) => void): unknown };
}

export interface EventNotifier {
  /** Follow a new pool connection's notices and transaction state. */
  watch(conn: unknown): void;
  /** Resolves when no NOTIFY is in flight (tests, shutdown). */
  idle(): Promise<void>;
}

export function createEventNotifier(db: () => Knex | undefined, onError: (err: Error) => void): EventNotifier {
  let inFlight: Promise<void> | undefined;
  let again = false;
  const send = async () => {
    const knex = db();
    if (!knex) return;
    await knex.raw(`BEGIN; SET LOCAL synchronous_commit = off; SELECT pg_notify('smartsupport_events', ''); COMMIT`);
  };
  const poke = (): void => {
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = send()
      .catch(onError)
      .finally(() => {
        inFlight = undefined;
        if (again) {
          again = false;
          poke();
        }
      });
  };
  return {
    watch(raw) {
      const conn = raw as PgClientLike;
      if (!conn.connection) return;
      let written = false;
      conn.on('notice', (msg) => {
        if (msg.message === EVENTS_WRITTEN_NOTICE) written = true;
      });
      // 'I': no transaction open any more — the statement (or COMMIT) that wrote the events is done
      conn.connection.on('readyForQuery', (msg) => {
        if (written && msg.status === 'I') {
          written = false;
          poke();
        }
      });
    },
    async idle() {
      while (inFlight) await inFlight;
    },
  };
}
