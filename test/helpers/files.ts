/**
 * Real files for upload tests, built in memory: images via sharp, a minimal PDF, a stored-entry zip,
 * an ELF header, an SVG with script, and a PNG whose header claims 20 000×20 000 pixels.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Knex } from 'knex';
import sharp from 'sharp';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export async function jpeg(width = 64, height = 48, exif = false): Promise<Buffer> {
  let img = sharp({ create: { width, height, channels: 3, background: { r: 200, g: 30, b: 30 } } }).jpeg();
  if (exif) img = img.withExif({ IFD0: { Copyright: 'secret-owner', ImageDescription: 'gps-and-secrets' } });
  return img.toBuffer();
}

export const png = (width = 32, height = 32) => sharp({ create: { width, height, channels: 4, background: { r: 0, g: 90, b: 200, alpha: 1 } } }).png().toBuffer();
export const gif = () => sharp({ create: { width: 8, height: 8, channels: 3, background: '#00ff00' } }).gif().toBuffer();

export function pdf(): Buffer {
  return Buffer.from(
    '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n' +
      '3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
  );
}

/** A zip with one stored (uncompressed) entry. */
export function zip(name = 'hello.txt', content: string | Buffer = 'hello zip\n'): Buffer {
  const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
  const fname = Buffer.from(name);
  const crc = crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(fname.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(fname.length, 28);
  const localPart = Buffer.concat([local, fname, data]);
  const centralPart = Buffer.concat([central, fname]);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(centralPart.length, 12);
  end.writeUInt32LE(localPart.length, 16);
  return Buffer.concat([localPart, centralPart, end]);
}

/** An x86-64 ELF header followed by junk: an executable. */
export function elf(): Buffer {
  const b = Buffer.alloc(256, 0x90);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0x3e, 0]).copy(b);
  return b;
}

export const svgWithScript = () => Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(document.cookie)</script></svg>');

/** A valid-looking PNG whose IHDR claims width × height (a pixel flood); only a tiny IDAT follows. */
export function pixelBombPng(width = 20000, height = 20000): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const idat = Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

export function form(field: string, files: { data: Buffer; name: string; type?: string }[]): FormData {
  const f = new FormData();
  for (const x of files) f.append(field, new Blob([x.data], { type: x.type ?? 'application/octet-stream' }), x.name);
  return f;
}

/** All files below `dir` (relative paths), recursively; [] if it does not exist. */
export async function filesUnder(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)));
  } catch {
    return [];
  }
}

let ticketSeq = 0;
export async function createTicket(db: Knex, employeeId: number, over: Record<string, unknown> = {}): Promise<{ id: number; ticket_number: string }> {
  ticketSeq += 1;
  const [row] = await db('tickets')
    .insert({ employee_id: employeeId, subject: `Printer ${ticketSeq}`, category: 'Hardware', sub_category: 'Printer', description: 'It is broken.', ...over })
    .returning(['id', 'ticket_number']);
  return { id: Number(row.id), ticket_number: row.ticket_number };
}
