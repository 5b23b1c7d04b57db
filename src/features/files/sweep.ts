/**
 * Leftovers after a crash: per-request upload directories under `<dataDir>/tmp` and half-written
 * `*.tmp-*` files in the media store. Requests clean up after themselves; this only catches what a
 * killed process could not. Runs at start-up and as the `tmp-files` maintenance task; only entries
 * older than `maxAgeMs` are touched, so uploads in flight on other instances sharing the directory
 * are safe.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { AppContext } from '../../app/context.js';
import { AREAS } from './storage.js';

export async function sweepStaleUploads(app: AppContext, maxAgeMs = 60 * 60 * 1000, now = Date.now()): Promise<number> {
  let removed = 0;
  const old = async (p: string) => now - (await stat(p)).mtimeMs > maxAgeMs;
  const tmp = path.join(app.config.dataDir, 'tmp');
  for (const name of await readdir(tmp).catch(() => [] as string[])) {
    const p = path.join(tmp, name);
    if (await old(p).catch(() => false)) {
      await rm(p, { recursive: true, force: true }).catch(() => undefined);
      removed++;
    }
  }
  for (const area of AREAS) {
    const dir = path.join(app.config.dataDir, 'media', area);
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (!name.includes('.tmp-')) continue;
      const p = path.join(dir, name);
      if (await old(p).catch(() => false)) {
        await rm(p, { force: true }).catch(() => undefined);
        removed++;
      }
    }
  }
  if (removed) app.log.info({ removed }, 'removed stale upload leftovers');
  return removed;
}
