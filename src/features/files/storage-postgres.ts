/**
 * FILE_STORAGE=postgres: file bytes in PostgreSQL (table `file_chunks`), as Zammad and Request
 * Tracker keep attachments by default. Every instance that reaches the database reads every file;
 * backups cover the files with the rest of the data.
 *
 * Memory: an object is written and read in chunks of CHUNK_BYTES, one at a time — never whole.
 * A write runs in one transaction (a reader never sees half an object; a failed write leaves
 * nothing); each chunk of a read is its own short query, so a slow download holds no connection.
 * All chunks but the last are exactly CHUNK_BYTES long, so a byte range maps to chunk numbers
 * directly and reads only the chunks it covers (the column is stored uncompressed, so
 * `substring` on the first and last chunk reads only the bytes it needs).
 */
import { createReadStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Knex } from 'knex';
import { fixedChunks } from './chunks.js';
import type { Backend, ByteRange, PutSource } from './storage.js';

export const CHUNK_BYTES = 256 * 1024;

export class PostgresStore implements Backend {
  readonly kind = 'postgres' as const;

  constructor(private readonly db: Knex) {}

  async write(key: string, source: PutSource, outer?: Knex.Transaction): Promise<void> {
    const stream = 'path' in source ? createReadStream(source.path) : source.stream;
    const run = async (trx: Knex.Transaction) => {
      // two processes writing one key (the default profile image at start-up) take turns
      await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`file:${key}`]);
      await trx('file_chunks').where({ key }).delete();
      let seq = 0;
      for await (const data of fixedChunks(stream, CHUNK_BYTES)) {
        await trx('file_chunks').insert({ key, seq, data });
        seq++;
      }
      // an empty object is one empty chunk, so existence is always "chunk 0 exists"
      if (seq === 0) await trx('file_chunks').insert({ key, seq: 0, data: Buffer.alloc(0) });
    };
    // inside the caller's transaction (an upload recorded in it) or in one of its own
    if (outer) await run(outer);
    else await this.db.transaction(run);
    if ('path' in source) await unlink(source.path).catch(() => undefined);
  }

  async size(key: string): Promise<number | undefined> {
    const row = await this.db('file_chunks').where({ key }).select(this.db.raw('count(*)::int AS n, coalesce(sum(octet_length(data)), 0)::bigint AS size')).first();
    return row && Number(row.n) > 0 ? Number(row.size) : undefined;
  }

  async open(key: string, range?: ByteRange): Promise<Readable> {
    const total = await this.size(key);
    if (total === undefined) throw Object.assign(new Error('no such object'), { code: 'ENOENT' });
    const start = range?.start ?? 0;
    const end = Math.min(range?.end ?? total - 1, total - 1); // inclusive
    let pos = start;
    const db = this.db;
    return new Readable({
      highWaterMark: 1, // one chunk ahead at most
      objectMode: false,
      async read() {
        try {
          if (pos > end) {
            this.push(null);
            return;
          }
          const seq = Math.floor(pos / CHUNK_BYTES);
          const from = pos - seq * CHUNK_BYTES; // 0-based inside the chunk
          const len = Math.min(CHUNK_BYTES - from, end - pos + 1);
          const row = await db('file_chunks').where({ key, seq }).first(db.raw('substring(data from ? for ?) AS data', [from + 1, len]));
          if (!row || row.data.length !== len) throw new Error(`object ${key} changed or vanished while being read`);
          pos += len;
          this.push(row.data as Buffer);
        } catch (err) {
          this.destroy(err as Error);
        }
      },
    });
  }

  async remove(key: string): Promise<void> {
    await this.db('file_chunks').where({ key }).delete();
  }

  async *keys(after = ''): AsyncIterable<string> {
    let last = after;
    for (;;) {
      const rows: { key: string }[] = await this.db('file_chunks').where({ seq: 0 }).where('key', '>', last).orderBy('key').limit(500).select('key');
      for (const r of rows) yield r.key;
      if (rows.length < 500) return;
      last = rows[rows.length - 1].key;
    }
  }
}
