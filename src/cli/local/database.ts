import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations (or roll back)')
    .option('--rollback', 'roll back the last batch')
    .option('--all', 'with --rollback: roll back every migration')
    .action(async (opts: { rollback?: boolean; all?: boolean }) => {
      const { loadConfig } = await import('../../config/config.js');
      const { withDatabase } = await import('../../db/connect.js');
      const { migrateLatest, migrateRollback } = await import('../../db/migrate.js');
      const names = await withDatabase(loadConfig(), (db) => (opts.rollback ? migrateRollback(db, opts.all) : migrateLatest(db)));
      process.stderr.write(names.length ? `${opts.rollback ? 'rolled back' : 'applied'}: ${names.join(', ')}\n` : 'nothing to do\n');
    });

  program
    .command('seed')
    .description('load seed data: the first admin, the FAQ knowledge base (idempotent)')
    .option('--demo', 'also load demo employees and tickets')
    .action(async (opts: { demo?: boolean }) => {
      const { loadConfig } = await import('../../config/config.js');
      const { withDatabase } = await import('../../db/connect.js');
      const { migrateLatest } = await import('../../db/migrate.js');
      const { runSeeds } = await import('../../db/seed.js');
      const { createLogger } = await import('../../lib/log.js');
      const config = loadConfig();
      const ran = await withDatabase(config, async (db) => {
        await migrateLatest(db);
        return runSeeds({ db, config, log: createLogger(config.logLevel), demo: Boolean(opts.demo) });
      });
      process.stderr.write(ran.length ? `seeded: ${ran.join(', ')}\n` : 'no seeds\n');
    });
}
