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
 * follow-up, and at most one per NOTIFY_MIN_GAP_MS) and without waiting for its own WAL flush (a
 * wake-up hint: listeners read the rows from the table, and poll once a second besides).
 */

export const EVENTS_WRITTEN_NOTICE = 'smartsupport_events_written';
export const NOTIFY_AFTER_COMMIT_SETTING = `SET smartsupport.notify_after_commit = 'on'`;

interface PgClientLike {
  on(event: 'notice', cb: (msg: { message?: string }) => void): unknown;
  connection?: { on(event: 'readyForQuery', cb: (msg: { status?: string }) => void): unknown };
}

export interface EventNotifier {
  /** Follow a new pool connection's notices and transaction state. */
  watch(conn: unknown): void;
}

/** The wake-up: its own transaction, which need not wait for its WAL flush (a hint, see above). */
export const EVENTS_NOTIFY_SQL = `BEGIN; SET LOCAL synchronous_commit = off; SELECT pg_notify('smartsupport_events', ''); COMMIT`;

/**
 * The shortest gap between two NOTIFYs of one process. The first write after a quiet spell is
 * announced at once; under a stream of writes one NOTIFY covers all those of the last 20 ms (at 750
 * ticket creates a second, a NOTIFY after one in six of them became at most 50 a second).
 */
export const NOTIFY_MIN_GAP_MS = 20;

/** `send` runs EVENTS_NOTIFY_SQL on a connection of the pool (knex.ts hands one out through pg). */
export function createEventNotifier(send: () => Promise<unknown>, onError: (err: Error) => void): EventNotifier {
  let inFlight: Promise<void> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let lastStart = -Infinity;
  const poke = (): void => {
    // a NOTIFY already scheduled is sent after this write's commit: it covers it
    if (timer) return;
    // one in flight may have left before this commit: another follows it
    if (inFlight) {
      again = true;
      return;
    }
    const wait = lastStart + NOTIFY_MIN_GAP_MS - Date.now();
    if (wait > 0) {
      timer = setTimeout(() => {
        timer = undefined;
        poke();
      }, wait);
      return;
    }
    lastStart = Date.now();
    inFlight = send()
      .then(() => undefined)
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
  };
}
