/**
 * Multipart uploads for the CLI: files are streamed from disk (never read into memory) and, when
 * stderr is a terminal and the upload is large, a progress bar is drawn on stderr.
 */
import { openAsBlob } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { CliError, usageError } from '../errors.js';
import type { Factory } from '../factory.js';

/** Uploads smaller than this finish too fast for a bar to help. */
export const PROGRESS_THRESHOLD_BYTES = 1024 * 1024;

/** A File that reads its bytes from a disk-backed Blob and reports how many were sent. */
class ProgressFile extends File {
  readonly #blob: Blob;
  readonly #onChunk: (n: number) => void;
  constructor(blob: Blob, name: string, onChunk: (n: number) => void) {
    super([], name, { type: 'application/octet-stream' });
    this.#blob = blob;
    this.#onChunk = onChunk;
    // the (empty) File reports the real size so the request's Content-Length is right
    Object.defineProperty(this, 'size', { get: () => blob.size });
  }
  override stream(): ReturnType<Blob['stream']> {
    const onChunk = this.#onChunk;
    return this.#blob.stream().pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, ctl) {
          onChunk(chunk.byteLength);
          ctl.enqueue(chunk);
        },
      }),
    ) as ReturnType<Blob['stream']>;
  }
}

const mb = (n: number) => (n / 1024 / 1024).toFixed(1);

/** Draws `[#####-----]  42%  4.2/10.0 MB` on stderr, at most once per percent. */
function progressBar(f: Factory, total: number, label: string): { add(n: number): void; done(): void } {
  const enabled = Boolean(f.io.stderr.isTTY) && total >= PROGRESS_THRESHOLD_BYTES;
  let sent = 0;
  let lastPct = -1;
  const draw = () => {
    const pct = Math.min(100, Math.floor((sent / total) * 100));
    if (pct === lastPct) return;
    lastPct = pct;
    const width = 30;
    const filled = Math.round((pct / 100) * width);
    f.io.stderr.write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(pct).padStart(3)}%  ${mb(sent)}/${mb(total)} MB`);
  };
  return {
    add(n) {
      sent += n;
      if (enabled) draw();
    },
    done() {
      if (enabled && lastPct >= 0) f.io.stderr.write('\n');
    },
  };
}

/** Build a multipart form with `field` = each file (streamed from disk), with a progress bar. */
export async function buildUploadForm(f: Factory, field: string, files: string[], label: string): Promise<{ form: FormData; done(): void }> {
  if (files.length === 0) throw usageError('give at least one file');
  const blobs: { blob: Blob; name: string }[] = [];
  for (const file of files) {
    const s = await stat(file).catch(() => undefined);
    if (!s?.isFile()) throw new CliError(`not a readable file: ${file}`);
    blobs.push({ blob: await openAsBlob(file), name: path.basename(file) });
  }
  const total = blobs.reduce((n, b) => n + b.blob.size, 0);
  const bar = progressBar(f, total, label);
  const form = new FormData();
  for (const b of blobs) form.append(field, new ProgressFile(b.blob, b.name, (n) => bar.add(n)));
  return { form, done: () => bar.done() };
}
