/**
 * Profile images: JPEG/PNG/WebP by content, at most 5 MB and 25 megapixels (checked from the header
 * before decoding: pixel floods / decompression bombs are refused), auto-rotated, cropped to
 * 1024×1024 (fit cover) and re-encoded as WebP without any metadata (EXIF, GPS, ICC, XMP are
 * dropped). Decoding runs in the per-process image pool (image-pool.ts): one at a time.
 */
import type { BeforeCommit } from '../../http/idempotency.js';
import type { AppContext } from '../../app/context.js';
import { notFound, tooLarge, unsupportedMediaType } from '../../http/errors.js';
import { IMAGE_TYPES } from './detect.js';
import { validateUploads, type UploadedFile } from './attachments-service.js';
import { loadSharp, withImageSlot } from './image-pool.js';
import { fileStore, newKey } from './storage.js';

export const PROFILE_IMAGE_MAX_BYTES = 5 * 1024 * 1024;
export const PROFILE_IMAGE_SIZE = 1024;
/** Largest input we decode (e.g. 6000×4000); anything bigger is refused from its header. */
export const PROFILE_IMAGE_MAX_INPUT_PIXELS = 25_000_000;
/** Served to everyone who has no image of their own. */
export const DEFAULT_PROFILE_IMAGE_KEY = 'employee_images/default-profile.png';

/** The storage key to show for an employee's `image` column. */
export const profileImageKey = (image: string | null | undefined): string => image || DEFAULT_PROFILE_IMAGE_KEY;

/** Validate, decode, resize and store a profile image; returns the new storage key. Throws 413/415. */
export async function processProfileImage(app: AppContext, file: UploadedFile): Promise<string> {
  await validateUploads([file], { maxBytes: PROFILE_IMAGE_MAX_BYTES, maxFiles: 1, allowed: IMAGE_TYPES }).catch((err: { status?: number }) => {
    if (err.status === 415) throw unsupportedMediaType('Profile images must be JPEG, PNG or WebP.');
    throw err;
  });
  const out = await withImageSlot(() => decodeAndResize(file));
  const key = newKey('employee_images', 'webp');
  const { Readable } = await import('node:stream');
  await fileStore(app).put(key, { stream: Readable.from([out]) });
  return key;
}

async function decodeAndResize(file: UploadedFile): Promise<Buffer> {
  const { default: sharp } = await loadSharp();
  const opts = { limitInputPixels: PROFILE_IMAGE_MAX_INPUT_PIXELS, failOn: 'error' as const, sequentialRead: true };
  let meta;
  try {
    meta = await sharp(file.filepath, opts).metadata();
  } catch (err) {
    if (/pixel limit/i.test((err as Error).message)) throw tooLarge(`The image is too large: at most ${PROFILE_IMAGE_MAX_INPUT_PIXELS / 1_000_000} megapixels.`);
    throw unsupportedMediaType('The image could not be decoded.');
  }
  if (!meta.width || !meta.height || meta.width * meta.height > PROFILE_IMAGE_MAX_INPUT_PIXELS || (meta.pages ?? 1) > 1) {
    throw tooLarge(`The image is too large: at most ${PROFILE_IMAGE_MAX_INPUT_PIXELS / 1_000_000} megapixels and a single frame.`);
  }
  try {
    return await sharp(file.filepath, opts)
      .rotate()
      .resize(PROFILE_IMAGE_SIZE, PROFILE_IMAGE_SIZE, { fit: 'cover' })
      .webp({ quality: 85 })
      .toBuffer();
  } catch (err) {
    if (/pixel limit/i.test((err as Error).message)) throw tooLarge('The image is too large.');
    throw unsupportedMediaType('The image could not be decoded.');
  }
}

/**
 * Process `file` and make it `employeeId`'s image; the previous image (not the default) is removed
 * after the change commits. Returns the new key.
 */
export async function replaceProfileImage(app: AppContext, employeeId: number, file: UploadedFile, beforeCommit?: BeforeCommit<string>): Promise<string> {
  const key = await processProfileImage(app, file);
  const store = fileStore(app);
  let previous: string | null = null;
  try {
    await app.db.transaction(async (trx) => {
      const row = await trx('employees').where({ id: employeeId }).forUpdate().first('image');
      if (!row) throw notFound('employee');
      previous = row.image;
      await trx('employees').where({ id: employeeId }).update({ image: key });
      await beforeCommit?.(trx, key); // an Idempotency-Key's answer commits with the change
    });
  } catch (err) {
    await store.delete(key).catch(() => undefined);
    throw err;
  }
  if (previous && previous !== key && previous !== DEFAULT_PROFILE_IMAGE_KEY) {
    await store.delete(previous).catch((err: Error) => app.log.warn({ err: err.message }, 'could not remove the previous profile image'));
  }
  return key;
}

/** Write the default profile image into the store if it is missing (at start-up). */
export async function ensureDefaultProfileImage(app: AppContext): Promise<void> {
  const store = fileStore(app);
  if (await store.exists(DEFAULT_PROFILE_IMAGE_KEY)) return;
  const { default: sharp } = await import('sharp');
  const size = PROFILE_IMAGE_SIZE;
  const svg = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}"><rect width="100%" height="100%" fill="#d9dee5"/>` +
      `<circle cx="512" cy="400" r="190" fill="#9aa5b4"/><ellipse cx="512" cy="930" rx="340" ry="300" fill="#9aa5b4"/></svg>`,
  );
  const png = await sharp(svg).png({ compressionLevel: 9 }).toBuffer();
  const { Readable } = await import('node:stream');
  await store.put(DEFAULT_PROFILE_IMAGE_KEY, { stream: Readable.from([png]) });
}
