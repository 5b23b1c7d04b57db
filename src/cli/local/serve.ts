import type { Command } from 'commander';

const count = (flag: string, v: string | undefined, min: number): number | undefined => {
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > 256) throw new Error(`${flag} must be an integer from ${min} to 256`);
  return Number(v);
};

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the API (and, unless --no-worker, the job workers) until SIGINT/SIGTERM')
    .option('--no-worker', 'serve HTTP only; run `smartsupport worker` elsewhere')
    .option('-p, --port <port>', 'port to listen on (default: PORT or 8000)')
    .option('--processes <n>', 'API processes sharing the port (default: WEB_CONCURRENCY or 1; recommended: the number of cores)')
    .option('--workers <n>', 'job-worker processes beside the API processes (default with --processes > 1: 1; 0 = none)')
    .action(async (opts: { worker: boolean; port?: string; processes?: string; workers?: string }) => {
      const { loadConfig } = await import('../../config/config.js');
      const { runUntilSignal } = await import('../../app/run.js');
      const env = opts.port ? { ...process.env, PORT: opts.port } : process.env;
      const config = loadConfig(env);
      const { childRole, runSupervisor } = await import('../../app/supervisor.js');
      const role = childRole();
      if (role) {
        // a child forked by the supervisor
        await runUntilSignal(config, { http: role === 'api', worker: role === 'worker' });
        return;
      }
      const processes = count('--processes', opts.processes, 1) ?? count('WEB_CONCURRENCY', process.env.WEB_CONCURRENCY, 1) ?? 1;
      const workers = count('--workers', opts.workers, 0);
      if (processes === 1 && workers === undefined) {
        await runUntilSignal(config, { http: true, worker: opts.worker && config.runWorker });
        return;
      }
      const w = !opts.worker || !config.runWorker ? 0 : (workers ?? 1);
      await runSupervisor(config, { processes, workers: w });
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
