import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the API (and, unless --no-worker, the job workers) until SIGINT/SIGTERM')
    .option('--no-worker', 'serve HTTP only; run `smartsupport worker` elsewhere')
    .option('-p, --port <port>', 'port to listen on (default: PORT or 8000)')
    .action(async (opts: { worker: boolean; port?: string }) => {
      const { loadConfig } = await import('../../config/config.js');
      const { runUntilSignal } = await import('../../app/run.js');
      const config = loadConfig(opts.port ? { ...process.env, PORT: opts.port } : process.env);
      await runUntilSignal(config, { http: true, worker: opts.worker && config.runWorker });
    });

  program
    .command('worker')
    .description('run the job workers only (as many processes or machines as you like)')
    .action(async () => {
      const { loadConfig } = await import('../../config/config.js');
      const { runUntilSignal } = await import('../../app/run.js');
      await runUntilSignal(loadConfig(), { http: false, worker: true });
    });
}
