/**
 * Where file bytes live. Features only see the narrow `FileStore` interface and opaque storage
 * keys (`<area>/<random>.<ext>`, chosen by the server), so an S3-compatible store can replace the
 * local disk without touching them. The local implementation keeps everything under
 * `<dataDir>/media` and refuses any key that could address something outside it.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

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

export interface FileStore {
  /** Store a local temp file (moved when possible) or a stream under the key, atomically. */
  put(key: string, source: { path: string } | { stream: Readable }): Promise<void>;
  /** Size in bytes, or undefined when the object does not exist. */
  size(key: string): Promise<number | undefined>;
  exists(key: string): Promise<boolean>;
  /** A read stream over the whole object or an inclusive byte range. */
  open(key: string, range?: ByteRange): Promise<Readable>;
  /** Remove the object; missing objects are not an error. */
  delete(key: string): Promise<void>;
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

export class LocalDiskStore implements FileStore {
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

  async put(key: string, source: { path: string } | { stream: Readable }): Promise<void> {
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

  async exists(key: string): Promise<boolean> {
    return (await this.size(key)) !== undefined;
  }

  async open(key: string, range?: ByteRange): Promise<Readable> {
    const file = this.resolve(key);
    return new Promise((resolve, reject) => {
      const s = createReadStream(file, range ? { start: range.start, end: range.end } : {});
      s.once('open', () => resolve(s));
      s.once('error', reject);
    });
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.resolve(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

const stores = new WeakMap<object, FileStore>();

/** The app's store (one per AppContext): local disk under `<dataDir>/media`. */
export function fileStore(app: { config: { dataDir: string } }): FileStore {
  let s = stores.get(app);
  if (!s) {
    s = new LocalDiskStore(path.join(app.config.dataDir, 'media'));
    stores.set(app, s);
  }
  return s;
}
