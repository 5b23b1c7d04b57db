/**
 * Seeds are TypeScript modules in seeds/ (compiled to dist/seeds), run in name order.
 * Each exports `seed(ctx)` and must be idempotent: `smartsupport seed` may run more than once.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Knex } from 'knex';
import type { Config } from '../config/config.js';
import { codeDir } from '../lib/paths.js';
import type { Logger } from '../lib/log.js';

export interface SeedContext {
  db: Knex;
  config: Config;
  log: Logger;
  /** include optional demo data (smartsupport seed --demo) */
  demo: boolean;
}

export async function runSeeds(ctx: SeedContext, dir = codeDir('seeds')): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts')).sort();
  const ran: string[] = [];
  for (const file of files) {
    const mod = (await import(pathToFileURL(path.join(dir, file)).href)) as { seed?: (c: SeedContext) => Promise<void> };
    if (typeof mod.seed !== 'function') continue;
    await mod.seed(ctx);
    ran.push(file.replace(/\.(ts|js)$/, ''));
  }
  return ran;
}
