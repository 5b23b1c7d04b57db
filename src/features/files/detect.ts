/**
 * What a file really is, from its bytes (never from its name or the client's Content-Type), checked
 * against an allow-list: a type is accepted only when its content says so. Text and CSV have no
 * magic bytes: they must be valid UTF-8 without NULs or control characters and contain NO markup
 * anywhere (`<` followed by a letter, `/`, `!` or `?`), so an HTML/SVG fragment such as
 * `<img onerror=…>` is refused wherever it sits in the file, not only at byte 0. Images are
 * re-encoded before they are stored (attachments-service.ts), which drops any trailing or embedded
 * payload of a polyglot (GIF/JS, PNG/HTML).
 */
import { open, readFile } from 'node:fs/promises';

export interface DetectedType {
  mime: string;
  ext: string;
}

/** MIME type → canonical extension (and accepted name extensions) for everything we store. */
export const ALLOWED: Record<string, { ext: string; aliases?: string[] }> = {
  'image/jpeg': { ext: 'jpg', aliases: ['jpeg', 'jpe'] },
  'image/png': { ext: 'png' },
  'image/gif': { ext: 'gif' },
  'image/webp': { ext: 'webp' },
  'application/pdf': { ext: 'pdf' },
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': { ext: 'docx' },
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': { ext: 'xlsx' },
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': { ext: 'pptx' },
  'application/zip': { ext: 'zip' },
  'text/plain': { ext: 'txt', aliases: ['log', 'md'] },
  'text/csv': { ext: 'csv' },
};

export const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/webp']);

const TEXT_SNIFF_LIMIT = 64 * 1024 * 1024;
/** the start of a tag, comment, doctype or processing instruction */
const MARKUP = /<[A-Za-z!?/]/;

async function looksLikeText(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  let size: number;
  try {
    size = (await fh.stat()).size;
  } finally {
    await fh.close();
  }
  if (size === 0 || size > TEXT_SNIFF_LIMIT) return false;
  const buf = await readFile(file);
  if (buf.includes(0)) return false;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    return false;
  }
  // markup (HTML, SVG, XML, a tag anywhere) is not "plain text": it can carry script
  if (MARKUP.test(text)) return false;
  // other control characters besides tab/newline/CR/form feed suggest binary
  return !/[\x01-\x08\x0B\x0E-\x1F\x7F]/.test(text);
}

/**
 * The allowed type of the file at `file`, or undefined when it is not on the allow-list.
 * `claimedName` only decides between text/plain and text/csv for text content.
 */
export async function detectType(file: string, claimedName = ''): Promise<DetectedType | undefined> {
  const { fileTypeFromFile } = await import('file-type');
  const ft = await fileTypeFromFile(file);
  if (ft) {
    const allowed = ALLOWED[ft.mime];
    return allowed ? { mime: ft.mime, ext: allowed.ext } : undefined;
  }
  if (await looksLikeText(file)) {
    return /\.csv$/i.test(claimedName) ? { mime: 'text/csv', ext: 'csv' } : { mime: 'text/plain', ext: 'txt' };
  }
  return undefined;
}

/**
 * The original name reduced to harmless metadata: last path segment only, no control characters or
 * reserved punctuation, no leading dots, at most 200 characters, and an extension that matches the
 * detected type (a PNG sent as `x.pdf` is recorded as `x.png`).
 */
export function sanitizeFileName(original: string | null | undefined, type: DetectedType): string {
  let name = String(original ?? '').normalize('NFC');
  name = name.split(/[\\/]/).pop() ?? '';
  name = name.replace(/[\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2066-\u2069]/g, '');
  name = name.replace(/[<>:"|?*%;]/g, '_').replace(/\s+/g, ' ').trim().replace(/^[.\s]+/, '');
  const dot = name.lastIndexOf('.');
  let base = dot > 0 ? name.slice(0, dot) : name;
  const ext = dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
  const allowed = ALLOWED[type.mime];
  const extOk = ext === allowed?.ext || (allowed?.aliases ?? []).includes(ext);
  base = base.replace(/[.\s]+$/, '').slice(0, 180) || 'file';
  return `${base}.${extOk ? ext : type.ext}`;
}
