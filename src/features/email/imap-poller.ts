/**
 * IMAP polling (INBOUND_IMAP_URL): one session at a time for the whole cluster — the `email.imap_poll`
 * queue is `stately` (at most one queued and one active job) and fed by a pg-boss cron schedule, never
 * by per-process timers. A session locks the folder, stores every unprocessed message through the
 * same intake as SMTP, and only then flags it (`\Seen $SmartSupport`) or moves it
 * (INBOUND_IMAP_MOVE_TO). It then waits in IDLE (imapflow falls back to NOOP polling on servers
 * without IDLE) until new mail arrives or INBOUND_IMAP_IDLE_SECONDS pass.
 *
 * imapflow rules kept: the mailbox lock is released in `finally`; no command is issued inside a
 * fetch iterator (UIDs are collected with SEARCH first, then each message is downloaded and flagged
 * with its own commands).
 */
import { ImapFlow } from 'imapflow';
import type { AppContext } from '../../app/context.js';
import { MessageTooLargeError, storeInbound } from './intake.js';

export const PROCESSED_KEYWORD = '$SmartSupport';

export interface ImapRun {
  stored: number;
  duplicates: number;
  tooLarge: number;
}

function clientFor(raw: string): ImapFlow {
  const u = new URL(raw);
  const secure = u.protocol === 'imaps:';
  return new ImapFlow({
    host: u.hostname,
    port: u.port ? Number(u.port) : secure ? 993 : 143,
    secure,
    auth: { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) },
    logger: false,
    disableAutoIdle: true,
    // imaps://…?tls_verify=false for a self-signed test server only
    tls: { rejectUnauthorized: u.searchParams.get('tls_verify') !== 'false' },
  });
}

async function drain(app: AppContext, client: ImapFlow, run: ImapRun): Promise<void> {
  const moveTo = app.config.inbound.imapMoveTo;
  const uids = (await client.search(moveTo ? { all: true } : { unKeyword: PROCESSED_KEYWORD }, { uid: true })) || [];
  for (const uid of uids) {
    const range = String(uid);
    const dl = await client.download(range, undefined, { uid: true });
    if (!dl || !('content' in dl) || !dl.content) continue;
    try {
      const r = await storeInbound(app, dl.content, { source: 'imap' });
      if (r.stored) run.stored++;
      else run.duplicates++;
    } catch (err) {
      if (!(err instanceof MessageTooLargeError)) throw err; // database down: leave it unflagged, the next session retries
      run.tooLarge++;
      app.log.warn({ uid }, 'inbound IMAP: message over INBOUND_MAX_MB, flagged and left in the mailbox');
      await client.messageFlagsAdd(range, ['\\Flagged', PROCESSED_KEYWORD], { uid: true });
      continue;
    }
    // acknowledged only after the row and its job committed
    if (moveTo) await client.messageMove(range, moveTo, { uid: true });
    else await client.messageFlagsAdd(range, ['\\Seen', PROCESSED_KEYWORD], { uid: true });
  }
}

/** One IMAP session: drain, then IDLE and drain again on new mail until `idleMs` has passed. */
export async function imapSession(app: AppContext, opts: { idleMs?: number } = {}): Promise<ImapRun> {
  const c = app.config.inbound;
  if (!c.imapUrl) return { stored: 0, duplicates: 0, tooLarge: 0 };
  const run: ImapRun = { stored: 0, duplicates: 0, tooLarge: 0 };
  const client = clientFor(c.imapUrl);
  client.on('error', (err: Error) => app.log.warn({ err: err.message }, 'inbound IMAP connection error'));
  await client.connect();
  try {
    if (c.imapMoveTo) {
      const exists = (await client.list()).some((m) => m.path === c.imapMoveTo);
      if (!exists) await client.mailboxCreate(c.imapMoveTo);
    }
    const lock = await client.getMailboxLock(c.imapFolder);
    try {
      const deadline = Date.now() + (opts.idleMs ?? c.imapIdleSeconds * 1000);
      for (;;) {
        await drain(app, client, run);
        const left = deadline - Date.now();
        if (left <= 0) break;
        let onExists: (() => void) | undefined;
        let timer: NodeJS.Timeout | undefined;
        const woke = new Promise<void>((resolve) => {
          onExists = resolve;
          client.once('exists', onExists);
          timer = setTimeout(resolve, left);
        });
        // IDLE ends when the next command (the SEARCH in drain) is sent
        client.idle().catch(() => undefined);
        await woke;
        clearTimeout(timer);
        client.off('exists', onExists!);
      }
    } finally {
      lock.release();
    }
  } finally {
    await client.logout().catch(() => client.close());
  }
  if (run.stored || run.duplicates || run.tooLarge) app.log.info({ ...run }, 'inbound IMAP session done');
  return run;
}
