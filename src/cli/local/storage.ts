import type { Command } from 'commander';

const KINDS = ['local', 'postgres', 's3'];

export function register(program: Command): void {
  const storage = program.command('storage').description('file storage (FILE_STORAGE): move files between local, postgres and s3');
  storage
    .command('migrate')
    .description('copy every stored file from one store to another, verified by SHA-256; resumable (run again after an interruption)')
    .requiredOption('--from <store>', 'local, postgres or s3')
    .requiredOption('--to <store>', 'local, postgres or s3')
    .option('--limit <n>', 'stop after copying this many files (a run in steps)')
    .action(async (opts: { from: string; to: string; limit?: string }) => {
      for (const [flag, v] of [['--from', opts.from], ['--to', opts.to]] as const) {
        if (!KINDS.includes(v)) throw new Error(`${flag} must be one of ${KINDS.join(', ')}`);
      }
      if (opts.from === opts.to) throw new Error('--from and --to must name different stores');
      const limit = opts.limit === undefined ? undefined : Number(opts.limit);
      if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0)) throw new Error('--limit must be a positive integer');
      const { loadConfig } = await import('../../config/config.js');
      const { withDatabase } = await import('../../db/connect.js');
      const { migrateLatest } = await import('../../db/migrate.js');
      const { createBackend } = await import('../../features/files/storage.js');
      const { migrateStorage } = await import('../../features/files/storage-migrate.js');
      const config = loadConfig();
      const report = await withDatabase(config, async (db) => {
        await migrateLatest(db);
        const ctx = { db, config };
        const source = await createBackend(opts.from as 'local', ctx);
        const target = await createBackend(opts.to as 'local', ctx);
        let n = 0;
        return migrateStorage(db, source, target, {
          limit,
          onProgress: (_key, outcome) => {
            if (outcome !== 'skipped' && ++n % 100 === 0) process.stderr.write(`… ${n} files\n`);
          },
        });
      });
      process.stdout.write(`copied: ${report.copied}, already done: ${report.skipped}, failed: ${report.failed.length}\n`);
      for (const f of report.failed.slice(0, 20)) process.stderr.write(`failed ${f.key}: ${f.reason}\n`);
      if (report.failed.length) throw new Error(`${report.failed.length} file(s) could not be migrated; fix them and run the command again`);
    });
}
