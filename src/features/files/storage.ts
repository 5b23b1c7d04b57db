/**
 * Where file bytes live (FILE_STORAGE): `local` (`<dataDir>/media`, one machine), `postgres`
 * (chunks in the database, storage-postgres.ts) or `s3` (any S3-compatible store, storage-s3.ts).
 * Features only see the narrow `FileStore` interface and opaque storage keys
 * (`<area>/<random>.<ext>`, chosen by the server). The local implementation refuses any key that
 * could address something outside its root. Every object's SHA-256 is recorded in `stored_files`
 * when it is written; `smartsupport storage migrate` verifies it when moving files between stores.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Knex } from 'knex';
import type { S3Config } from '../../config/config.js';
import { PostgresStore } from './storage-postgres.js';

export const AREAS = ['employee_images', 'ticket_attachments', 'inbound_mail'] as const;
export type Area = (typeof AREAS)[number];

/** A key is exactly `<area>/<name>` with a conservative name alphabet (what we generate). */
const KEY_RE = /^(employee_images|ticket_attachments|inbound_mail)\/[A-Za-z0-9][A-Za-z0-9_-]{0,100}(\.[a-z0-9]{1,8})?$/;

export class InvalidKeyError extends Error {
  constructor() {
    super('invalid storage key');
    this.name = 'InvalidKeyError';
  }
}

export interface ByteRange {
  start: number;
  /** inclusive */
  end: number;
}

/** What a stored object is recorded as: its size and SHA-256 (hex), computed while it was written. */
export interface StoredObject {
  size: number;
  sha256: string;
}

export type PutSource = { path: string } | { stream: Readable };

/**
 * The whole interface features use (uploads, downloads, erasure). Every `put` records the object's
 * SHA-256 and size in `stored_files`, whichever backend holds the bytes.
 */
export interface FileStore {
  readonly kind: StorageKind;
  /**
   * Store a local temp file (moved when possible) or a stream under the key, atomically; records the
   * checksum. Inside a transaction pass it as `trx`: the database writes (checksum record; the bytes
   * with FILE_STORAGE=postgres) join it instead of taking a second pooled connection, and roll back with it.
   */
  put(key: string, source: PutSource, opts?: { trx?: Knex.Transaction }): Promise<StoredObject>;
  /** Size in bytes, or undefined when the object does not exist. */
  size(key: string): Promise<number | undefined>;
  exists(key: string): Promise<boolean>;
  /** A read stream over the whole object or an inclusive byte range. */
  open(key: string, range?: ByteRange): Promise<Readable>;
  /** Remove the object and its checksum record; missing objects are not an error. */
  delete(key: string): Promise<void>;
  /** The SHA-256 recorded when the object was stored (undefined for files stored before checksums existed). */
  checksum(key: string): Promise<string | undefined>;
}

export type StorageKind = 'local' | 'postgres' | 's3';

/** Where the bytes go; `CatalogStore` adds checksums and the `stored_files` record on top. */
export interface Backend {
  readonly kind: StorageKind;
  write(key: string, source: PutSource, trx?: Knex.Transaction): Promise<void>;
  size(key: string): Promise<number | undefined>;
  open(key: string, range?: ByteRange): Promise<Readable>;
  remove(key: string): Promise<void>;
  /** Every stored key, in ascending order, starting after `after` (storage migration). */
  keys(after?: string): AsyncIterable<string>;
}

/** A fresh server-chosen key: random name plus the extension of the detected type. */
export function newKey(area: Area, ext: string): string {
  const safeExt = /^[a-z0-9]{1,8}$/.test(ext) ? `.${ext}` : '';
  return `${area}/${randomBytes(16).toString('hex')}${safeExt}`;
}

/** True when `key` is a well-formed storage key (never a path with `..`, NULs, encodings or absolute parts). */
export function isValidKey(key: unknown): key is string {
  return typeof key === 'string' && KEY_RE.test(key);
}

export class LocalDiskStore implements Backend {
  readonly kind = 'local' as const;
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /** Map a key to an absolute path inside the root, or throw InvalidKeyError. */
  resolve(key: string): string {
    if (!isValidKey(key) || key.includes('\0') || key.includes('..') || key.includes('%') || path.isAbsolute(key)) throw new InvalidKeyError();
    const full = path.resolve(this.root, key);
    if (!full.startsWith(this.root + path.sep)) throw new InvalidKeyError();
    return full;
  }

  async write(key: string, source: PutSource): Promise<void> {
    const dest = this.resolve(key);
    await mkdir(path.dirname(dest), { recursive: true });
    const tmp = `${dest}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      if ('path' in source) {
        try {
          await rename(source.path, tmp);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
          await copyFile(source.path, tmp);
          await unlink(source.path).catch(() => undefined);
        }
      } else {
        await pipeline(source.stream, createWriteStream(tmp, { flags: 'wx', mode: 0o640 }));
      }
      await rename(tmp, dest);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
  }

  async size(key: string): Promise<number | undefined> {
    try {
      const s = await stat(this.resolve(key));
      return s.isFile() ? s.size : undefined;
    } catch (err) {
      if (err instanceof InvalidKeyError) throw err;
      return undefined;
    }
  }

  async open(key: string, range?: ByteRange): Promise<Readable> {
    const file = this.resolve(key);
    return new Promise((resolve, reject) => {
      const s = createReadStream(file, range ? { start: range.start, end: range.end } : {});
      s.once('open', () => resolve(s));
      s.once('error', reject);
    });
  }

  async remove(key: string): Promise<void> {
    try {
      await unlink(this.resolve(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  async *keys(after = ''): AsyncIterable<string> {
    const all: string[] = [];
    for (const area of AREAS) {
      for (const name of await readdir(path.join(this.root, area)).catch(() => [] as string[])) {
        const key = `${area}/${name}`;
        if (isValidKey(key) && key > after) all.push(key);
      }
    }
    yield* all.sort();
  }
}

/**
 * A backend plus the `stored_files` catalog: the SHA-256 and size of every object, computed while
 * the bytes stream through (never a second read) and recorded once the backend has them.
 */
export class CatalogStore implements FileStore {
  constructor(
    readonly backend: Backend,
    private readonly db: Knex,
  ) {}

  get kind(): StorageKind {
    return this.backend.kind;
  }

  async put(key: string, source: PutSource, opts: { trx?: Knex.Transaction } = {}): Promise<StoredObject> {
    if (!isValidKey(key)) throw new InvalidKeyError();
    const hash = createHash('sha256');
    let size = 0;
    if ('path' in source) {
      // hash the temp file first so the local backend can still move it instead of copying
      for await (const chunk of createReadStream(source.path)) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      await this.backend.write(key, source, opts.trx);
    } else {
      const counted = source.stream.pipe(
        new Transform({
          transform(chunk: Buffer, _enc, cb) {
            hash.update(chunk);
            size += chunk.length;
            cb(null, chunk);
          },
        }),
      );
      source.stream.once('error', (err) => counted.destroy(err));
      await this.backend.write(key, { stream: counted }, opts.trx);
    }
    const obj = { size, sha256: hash.digest('hex') };
    await recordObject(opts.trx ?? this.db, key, obj);
    return obj;
  }

  size(key: string): Promise<number | undefined> {
    return this.backend.size(key);
  }

  async exists(key: string): Promise<boolean> {
    return (await this.backend.size(key)) !== undefined;
  }

  open(key: string, range?: ByteRange): Promise<Readable> {
    return this.backend.open(key, range);
  }

  async delete(key: string): Promise<void> {
    await this.backend.remove(key);
    await this.db('stored_files').where({ key }).delete();
  }

  async checksum(key: string): Promise<string | undefined> {
    const row = await this.db('stored_files').where({ key }).first('sha256');
    return row?.sha256;
  }
}

export async function recordObject(db: Knex | Knex.Transaction, key: string, obj: StoredObject): Promise<void> {
  await db('stored_files').insert({ key, size: obj.size, sha256: obj.sha256 }).onConflict('key').merge(['size', 'sha256']);
}

/** The backend named `kind`, configured from the app's config (S3 and its SDK load only when used). */
export async function createBackend(kind: StorageKind, app: { db: Knex; config: { dataDir: string; s3: S3Config | undefined } }): Promise<Backend> {
  if (kind === 'local') return new LocalDiskStore(path.join(app.config.dataDir, 'media'));
  if (kind === 'postgres') return new PostgresStore(app.db);
  if (!app.config.s3) throw new Error('FILE_STORAGE=s3 needs S3_BUCKET');
  return (await import('./storage-s3.js')).createS3Store(app.config.s3);
}

const stores = new WeakMap<object, FileStore>();

/**
 * The app's store (one per AppContext), chosen by FILE_STORAGE. Local and PostgreSQL are built
 * synchronously; S3 loads its SDK on first use, so the store forwards to a backend promise.
 */
export function fileStore(app: { db: Knex; config: { dataDir: string; fileStorage: StorageKind; s3: S3Config | undefined } }): FileStore {
  let s = stores.get(app);
  if (!s) {
    const kind = app.config.fileStorage;
    const backend: Backend =
      kind === 'local' ? new LocalDiskStore(path.join(app.config.dataDir, 'media')) : kind === 'postgres' ? new PostgresStore(app.db) : lazyBackend(kind, createBackend(kind, app));
    s = new CatalogStore(backend, app.db);
    stores.set(app, s);
  }
  return s;
}

function lazyBackend(kind: StorageKind, p: Promise<Backend>): Backend {
  p.catch(() => undefined); // reported on first use
  return {
    kind,
    write: async (k, src, trx) => (await p).write(k, src, trx),
    size: async (k) => (await p).size(k),
    open: async (k, r) => (await p).open(k, r),
    remove: async (k) => (await p).remove(k),
    async *keys(after) {
      yield* (await p).keys(after);
    },
  };
}
