/**
 * `smartsupport storage migrate --from X --to Y`: copy every object from one backend to another,
 * verified by SHA-256, resumable.
 *
 * For each key of the source (in key order): stream it from the source into the target while
 * hashing; the hash must equal the checksum recorded at upload (`stored_files`; a file stored
 * before checksums existed gets the hash recorded now); then the target's copy is read back and
 * hashed again. Only then is the key recorded in `file_storage_migrations`; a later run skips
 * recorded keys, so an interrupted migration resumes where it stopped. The source is never
 * changed: switch FILE_STORAGE once the run reports no failures, and remove the old files after.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Knex } from 'knex';
import { CatalogStore, recordObject, type Backend } from './storage.js';

export interface MigrationReport {
  copied: number;
  skipped: number;
  failed: { key: string; reason: string }[];
}

async function hashStream(s: Readable): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const c of s) {
    h.update(c as Buffer);
    size += (c as Buffer).length;
  }
  return { sha256: h.digest('hex'), size };
}

export async function migrateStorage(
  db: Knex,
  source: Backend,
  target: Backend,
  opts: { onProgress?: (key: string, outcome: 'copied' | 'skipped' | 'failed') => void; limit?: number } = {},
): Promise<MigrationReport> {
  if (source.kind === target.kind) throw new Error('--from and --to must name different stores');
  const report: MigrationReport = { copied: 0, skipped: 0, failed: [] };
  const targetStore = new CatalogStore(target, db);
  const pair = { source: source.kind, target: target.kind };
  for await (const key of source.keys()) {
    if (opts.limit !== undefined && report.copied >= opts.limit) break;
    if (await db('file_storage_migrations').where({ ...pair, key }).first('key')) {
      report.skipped++;
      opts.onProgress?.(key, 'skipped');
      continue;
    }
    try {
      const recorded = (await db('stored_files').where({ key }).first('sha256', 'size')) as { sha256: string; size: number } | undefined;
      const copy = await targetStore.put(key, { stream: await source.open(key) });
      if (recorded && (copy.sha256 !== recorded.sha256 || copy.size !== Number(recorded.size))) {
        // the source no longer holds what was uploaded: keep the recorded checksum, drop the bad copy
        await target.remove(key).catch(() => undefined);
        await recordObject(db, key, { sha256: recorded.sha256, size: Number(recorded.size) });
        throw new Error(`source bytes do not match the checksum recorded at upload (${recorded.sha256.slice(0, 12)}…)`);
      }
      const back = await hashStream(await target.open(key));
      if (back.sha256 !== copy.sha256 || back.size !== copy.size) throw new Error('the copy read back from the target does not match');
      await db('file_storage_migrations').insert({ ...pair, key, sha256: copy.sha256 }).onConflict(['source', 'target', 'key']).ignore();
      report.copied++;
      opts.onProgress?.(key, 'copied');
    } catch (err) {
      report.failed.push({ key, reason: (err as Error).message });
      opts.onProgress?.(key, 'failed');
    }
  }
  return report;
}
