/**
 * Migrations are TypeScript files in migrations/ (compiled to dist/migrations). Their names are
 * stored without extension, so running from source or from dist/ sees the same history.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Knex } from 'knex';
import { codeDir } from '../lib/paths.js';

interface MigrationModule {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

export class DirMigrationSource implements Knex.MigrationSource<string> {
  constructor(private readonly dir: string = codeDir('migrations')) {}

  async getMigrations(): Promise<string[]> {
    const files = await readdir(this.dir);
    return files
      .filter((f) => /^\d+[-_].+\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
      .sort();
  }

  getMigrationName(file: string): string {
    return file.replace(/\.(ts|js)$/, '');
  }

  async getMigration(file: string): Promise<MigrationModule> {
    return (await import(pathToFileURL(path.join(this.dir, file)).href)) as MigrationModule;
  }
}

const migrationConfig = (): Knex.MigratorConfig => ({ migrationSource: new DirMigrationSource(), tableName: 'knex_migrations' });

/**
 * Apply pending migrations. A database a *newer* release already migrated (its migrations all sort
 * after this release's last) is the old side of a rolling upgrade: start and serve, and tell
 * `onNewer` which migrations are ahead (knex's own check would refuse to start, as 0.1.0 does —
 * docs/deployment.md). An unknown migration *between* ours is a broken build: refused as knex does.
 */
export async function migrateLatest(db: Knex, onNewer?: (names: string[]) => void): Promise<string[]> {
  const source = new DirMigrationSource();
  const onDisk = (await source.getMigrations()).map((f) => source.getMigrationName(f));
  const last = onDisk[onDisk.length - 1] ?? '';
  const known = new Set(onDisk);
  const done = (await db.schema.hasTable('knex_migrations')) ? (await db('knex_migrations').select('name')).map((r: { name: string }) => r.name) : [];
  const unknown = done.filter((n) => !known.has(n));
  const missing = unknown.filter((n) => n <= last);
  if (missing.length) throw new Error(`The migration directory is corrupt, the following files are missing: ${missing.join(', ')}`);
  if (unknown.length) onNewer?.(unknown);
  const [, names] = (await db.migrate.latest({ ...migrationConfig(), disableMigrationsListValidation: true })) as [number, string[]];
  // fresh statistics for whatever the migrations created or rewrote (autovacuum may be off)
  if (names.length) await analyzeStale(db);
  return names;
}

export async function migrateRollback(db: Knex, all = false): Promise<string[]> {
  const [, names] = (await db.migrate.rollback(migrationConfig(), all)) as [number, string[]];
  return names;
}

let knownMigrations: Promise<string[]> | undefined;

/** Migrations on disk that the database has not run yet (the file list is read once per process). */
export async function pendingMigrations(db: Knex): Promise<string[]> {
  const source = new DirMigrationSource();
  knownMigrations ??= source.getMigrations().then((files) => files.map((f) => source.getMigrationName(f)));
  const onDisk = await knownMigrations;
  const hasTable = await db.schema.hasTable('knex_migrations');
  const done = new Set(hasTable ? (await db('knex_migrations').select('name')).map((r: { name: string }) => r.name) : []);
  return onDisk.filter((name) => !done.has(name));
}

/**
 * ANALYZE every table of ours that was never analysed, or changed by more than a tenth (at least
 * 500 rows) since its last analysis. Runs after migrations and from the maintenance job, so plans
 * never wait on autovacuum (which CI machines and some hosts turn off). Returns the tables analysed.
 */
export async function analyzeStale(db: Knex): Promise<string[]> {
  const { rows } = await db.raw(
    `SELECT relname FROM pg_stat_user_tables
      WHERE schemaname = 'public'
        AND (COALESCE(last_analyze, last_autoanalyze) IS NULL OR n_mod_since_analyze > GREATEST(500, n_live_tup / 10))
      ORDER BY relname`,
  );
  const names = (rows as { relname: string }[]).map((r) => r.relname);
  for (const name of names) await db.raw('ANALYZE ??', [name]);
  return names;
}
