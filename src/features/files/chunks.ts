import type { Readable } from 'node:stream';

/**
 * Re-cut a byte stream into buffers of exactly `size` bytes (the last may be shorter; an empty
 * stream yields nothing). At most one buffer of `size` bytes is held at a time.
 */
export async function* fixedChunks(stream: Readable, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let have = 0;
  for await (const c of stream) {
    let chunk = Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array);
    while (chunk.length > 0) {
      const take = Math.min(size - have, chunk.length);
      parts.push(chunk.subarray(0, take));
      have += take;
      chunk = chunk.subarray(take);
      if (have === size) {
        yield parts.length === 1 ? parts[0] : Buffer.concat(parts, have);
        parts = [];
        have = 0;
      }
    }
  }
  if (have > 0) yield Buffer.concat(parts, have);
}
