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

export async function migrateLatest(db: Knex): Promise<string[]> {
  const [, names] = (await db.migrate.latest(migrationConfig())) as [number, string[]];
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
