/**
 * Raw intake, shared by the SMTP receiver and the IMAP poller: the message is written to a temp
 * file (hashed and sized on the way), moved into the file store, and recorded with its
 * `email.inbound` job in ONE transaction. Only after that commits does the caller acknowledge the
 * message (SMTP 250, IMAP flag/move), so a crash anywhere loses nothing and the job processes it.
 *
 * Duplicates (same Message-ID, or the same bytes) are recognised by the unique indexes of
 * inbound_emails: the second copy is acknowledged and dropped, never processed twice.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AppContext } from '../../app/context.js';
import { QUEUES } from '../../jobs/queues.js';
import { fileStore, newKey } from '../files/storage.js';
import { bareMessageId } from './addresses.js';
import { emitEmailEvent, inboundSnapshot } from './events-bridge.js';

export interface IntakeMeta {
  source: 'smtp' | 'imap';
  envelopeFrom?: string | null;
  envelopeTo?: string[];
}

export type IntakeResult = { stored: true; id: number } | { stored: false; duplicateOf: number | null };

export class MessageTooLargeError extends Error {
  constructor() {
    super('message exceeds the size limit');
    this.name = 'MessageTooLargeError';
  }
}

/** The Message-ID header from the header block of a stored message (first 256 KiB at most). */
async function readMessageId(file: string): Promise<string | undefined> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(256 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const text = buf.subarray(0, bytesRead).toString('latin1');
    const end = text.search(/\r?\n\r?\n/);
    const head = (end < 0 ? text : text.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
    const m = /^message-id:\s*(.*)$/im.exec(head);
    return bareMessageId(m?.[1]?.match(/<[^<>]+>/)?.[0] ?? m?.[1]);
  } finally {
    await fh.close();
  }
}

/**
 * Store one received message. `maxBytes`: a message larger than this is refused with
 * MessageTooLargeError (the caller answers 552), nothing kept.
 */
export async function storeInbound(app: AppContext, source: Readable, meta: IntakeMeta, maxBytes = app.config.inbound.maxBytes): Promise<IntakeResult> {
  const tmpDir = path.join(app.config.dataDir, 'tmp');
  await mkdir(tmpDir, { recursive: true });
  const tmp = path.join(tmpDir, `mail-${randomBytes(8).toString('hex')}.eml`);
  const hash = createHash('sha256');
  let size = 0;
  let tooLarge = false;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (size > maxBytes) {
        tooLarge = true;
        return cb(); // keep draining the source (SMTP must read to the end), store nothing more
      }
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  let key: string | undefined;
  try {
    await pipeline(source, meter, createWriteStream(tmp, { mode: 0o600 }));
    if (tooLarge || (source as Readable & { sizeExceeded?: boolean }).sizeExceeded) throw new MessageTooLargeError();
    const sha = hash.digest('hex');
    const messageId = await readMessageId(tmp);
    key = newKey('inbound_mail', 'eml');
    await fileStore(app).put(key, { path: tmp });
    const storedKey = key;
    const result = await app.db.transaction(async (trx) => {
      const inserted = await trx.raw(
        `INSERT INTO inbound_emails (source, message_id, raw_sha256, storage_key, size, envelope_from, envelope_to)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
        [meta.source, messageId ?? null, sha, storedKey, size, meta.envelopeFrom ?? null, meta.envelopeTo ?? []],
      );
      const row = inserted.rows[0] as { id: string } | undefined;
      if (!row) {
        const dup = await trx('inbound_emails')
          .where({ raw_sha256: sha })
          .modify((qb) => (messageId ? qb.orWhere({ message_id: messageId }) : qb))
          .first('id');
        return { stored: false as const, duplicateOf: dup ? Number(dup.id) : null };
      }
      const id = Number(row.id);
      await app.jobs.enqueue(trx, QUEUES.emailInbound, { inboundId: id });
      await emitEmailEvent(trx, { type: 'email.received', object: { type: 'inbound_email', id: String(id) }, data: { object: await inboundSnapshot(trx, id), source: meta.source, message_id: messageId ?? null, size } });
      return { stored: true as const, id };
    });
    if (!result.stored) {
      await fileStore(app).delete(storedKey).catch(() => undefined);
      app.log.info({ source: meta.source, message_id: messageId, duplicate_of: result.duplicateOf }, 'duplicate inbound email dropped');
    }
    return result;
  } catch (err) {
    if (key) await fileStore(app).delete(key).catch(() => undefined);
    throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}
