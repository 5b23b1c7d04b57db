/**
 * The real `smartsupport` binary in child processes, for black-box tests of what the docs promise
 * about running processes (workers, shutdown, logs). Output is captured in full so tests can read
 * the real log lines. Every child still running at teardown is SIGKILLed.
 * Needs the build (`npm run build`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { appDatabaseEnv, TEST_JWT_SECRET, type T, type TestApp } from './harness.js';
import { waitFor } from './outbound.js';

export const BIN = path.resolve('bin/smartsupport');

export interface Proc {
  child: ChildProcess;
  /** stdout so far (JSON log lines) */
  stdout(): string;
  stderr(): string;
  /** the exit code (null when killed by a signal) */
  exited: Promise<number | null>;
  /** resolves with the first stdout+stderr match of `re` (fails when the process exits first) */
  waitForOutput(re: RegExp, what?: string, timeoutMs?: number): Promise<RegExpExecArray>;
  /** parsed JSON log lines of stdout */
  logLines(): Record<string, unknown>[];
}

/** Environment for a child working on the test app's database and data dir. */
export function envFor(ta: TestApp, env: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    ...appDatabaseEnv(ta.app),
    SMARTSUPPORT_DATA_DIR: ta.dataDir,
    JWT_SECRET: TEST_JWT_SECRET,
    PORT: '0',
    HOST: '127.0.0.1',
    RATE_LIMIT_PER_MINUTE: '100000',
    SMTP_URL: '',
    ...env,
  };
}

/** `bin`: another build's binary (the upgrade test runs the previous release's). */
export function spawnSmartsupport(t: T, args: string[], env: Record<string, string>, bin: string = BIN): Proc {
  if (!existsSync('dist/cli/main.js')) throw new Error('dist/ is missing: run `npm run build` before `npm test`');
  const clean = { ...process.env };
  // the test runner's own settings must not leak into the child
  for (const k of Object.keys(clean)) if (/^(WORKFLOW_|SMTP_|JOB_|SHUTDOWN_|LOG_)/.test(k)) delete clean[k];
  const child = spawn(process.execPath, [bin, ...args], { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  let done = false;
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      done = true;
      resolve(code);
    }),
  );
  t.teardown(() => {
    if (!done) child.kill('SIGKILL');
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitForOutput(re, what = String(re), timeoutMs = 60_000) {
      return waitFor(
        async () => {
          const m = re.exec(out + err);
          if (m) return m;
          if (done) throw new Error(`process exited before ${what}: ${(out + err).slice(-2000)}`);
          return undefined;
        },
        what,
        timeoutMs,
        50,
      );
    },
    logLines() {
      return out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    },
  };
}

/** `smartsupport serve` on the test app's database; resolves once it listens. */
export async function startServe(t: T, ta: TestApp, env: Record<string, string> = {}, args: string[] = []): Promise<Proc & { url: string }> {
  const p = spawnSmartsupport(t, ['serve', ...args], envFor(ta, env));
  const m = await p.waitForOutput(/"url":"(http:\/\/[^"]+)"[^\n]*SmartSupport is listening/, 'serve listening');
  return Object.assign(p, { url: m[1]! });
}

/** `smartsupport worker` on the test app's database; resolves once it runs. */
export async function startWorker(t: T, ta: TestApp, env: Record<string, string> = {}): Promise<Proc> {
  const p = spawnSmartsupport(t, ['worker'], envFor(ta, env));
  await p.waitForOutput(/SmartSupport worker is running/, 'worker running');
  return p;
}
