/**
 * Process entry points used by the CLI: `serve` (API + workers) and `worker` (workers only).
 * Both stop gracefully on SIGTERM/SIGINT: stop accepting, finish in-flight requests and jobs,
 * close the pool, stop the embedded database.
 */
import type { Config } from '../config/config.js';
import { stopEventStreams } from '../features/events/hub.js';
import { createContext, type AppContext } from './context.js';
import { features } from './features.js';
import { createApp, listen, type RunningServer } from './server.js';
import { startWorkers } from './worker.js';

export interface Running {
  app: AppContext;
  http?: RunningServer;
  stop(): Promise<void>;
}

export async function startService(config: Config, opts: { http: boolean; worker: boolean }): Promise<Running> {
  const app = await createContext(config, { migrate: true, supervise: true });
  let http: RunningServer | undefined;
  const services: { close(): Promise<void> }[] = [];
  try {
    for (const f of features) await f.onStart?.(app);
    if (opts.worker) await startWorkers(app, features);
    if (opts.http) for (const f of features) services.push(...((await f.services?.(app)) ?? []));
    if (opts.http) {
      http = await listen(createApp(app, features), config.port, config.host);
      app.log.info({ url: http.url, worker: opts.worker }, 'SmartSupport is listening');
      // (production refuses to start without it: src/config/config.ts)
      if (!config.workflowSigningSecret) app.log.warn('WORKFLOW_SIGNING_SECRET is not set: inbound workflow callbacks are accepted WITHOUT a signature (only the API key); set it outside development');
    } else {
      app.log.info('SmartSupport worker is running');
    }
  } catch (err) {
    for (const s of services) await s.close().catch(() => undefined);
    await app.close();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    app,
    http,
    stop() {
      stopping ??= (async () => {
        // stop accepting at once (the drain starts synchronously), then end the live event streams,
        // which never finish by themselves (clients resume with Last-Event-ID)
        const draining = http?.close(config.shutdownTimeoutMs);
        await stopEventStreams(app);
        await draining;
        for (const s of services) await s.close().catch(() => undefined);
        await app.close();
      })();
      return stopping;
    },
  };
}

/**
 * Run until SIGINT/SIGTERM; a second signal exits at once. The handlers are in place before
 * start-up begins: workers take jobs while the rest is still starting, and a signal then (a
 * rolling deploy, a supervisor stopping a child it just started) must drain those jobs once
 * start-up is done, not kill the process with them in flight.
 */
export async function runUntilSignal(config: Config, opts: { http: boolean; worker: boolean }): Promise<void> {
  let running: Running | undefined;
  let signal: NodeJS.Signals | undefined;
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  const stop = (r: Running) => {
    // stop() closes the listener before it returns (the drain starts synchronously), so the line
    // below is only written once new connections are refused: a log watcher (test/serve.test.ts, an
    // orchestrator) may rely on it
    const stopped = r.stop();
    r.app.log.info({ signal }, 'shutting down');
    stopped.then(finished, (err) => {
      r.app.log.error({ err: (err as Error).message }, 'shutdown failed');
      finished();
    });
  };
  const onSignal = (sig: NodeJS.Signals) => {
    if (signal) process.exit(130);
    signal = sig;
    if (running) stop(running);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    running = await startService(config, opts);
  } catch (err) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    throw err;
  }
  // a signal that came during start-up
  if (signal) stop(running);
  await done;
}
