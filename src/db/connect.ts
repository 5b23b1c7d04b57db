/** Open the configured database (embedded when DATABASE_URL is unset) for a short-lived command. */
import path from 'node:path';
import type { Knex } from 'knex';
import type { Config } from '../config/config.js';
import { startEmbeddedPostgres } from './embedded.js';
import { createKnex } from './knex.js';

export async function withDatabase<T>(config: Config, fn: (db: Knex, url: string) => Promise<T>): Promise<T> {
  const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres({ dir: path.join(config.dataDir, 'pg') });
  const url = config.databaseUrl ?? embedded!.url;
  const db = createKnex(url, 2);
  try {
    return await fn(db, url);
  } finally {
    await db.destroy();
    await embedded?.stop();
  }
}
