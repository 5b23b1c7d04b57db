/**
 * A real PgBouncer (Debian's package, 1.18 — before prepared-statement support in transaction
 * mode) in transaction pooling mode in front of a PostgreSQL server, for tests and CI. Every
 * database name is passed through (`* =` entry). Runs as the `postgres` user when started as root
 * (PgBouncer refuses root).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface PgBouncer {
  /** the server URL with the pooler's host and port (same user, same database path) */
  urlFor(directUrl: string): string;
  port: number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

export async function startPgBouncer(serverUrl: string, opts: { poolSize?: number; port?: number } = {}): Promise<PgBouncer> {
  const server = new URL(serverUrl);
  const port = opts.port ?? (await freePort());
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ss-pgbouncer-'));
  await chmod(dir, 0o777);
  const user = decodeURIComponent(server.username || 'postgres');
  // clients are trusted; the password (the embedded server's, say) is what PgBouncer logs in with
  const password = decodeURIComponent(server.password).replace(/"/g, '""');
  await writeFile(path.join(dir, 'userlist.txt'), `"${user}" "${password}"\n`, { mode: 0o644 });
  await writeFile(
    path.join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${server.hostname} port=${server.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${path.join(dir, 'userlist.txt')}`,
      'pool_mode = transaction',
      `default_pool_size = ${opts.poolSize ?? 10}`,
      'max_client_conn = 5000',
      // short-lived test databases: do not keep their server connections around
      'server_idle_timeout = 5',
      'server_check_delay = 1',
      'ignore_startup_parameters = extra_float_digits,options',
      `pidfile = ${path.join(dir, 'pgbouncer.pid')}`,
      'log_connections = 0',
      'log_disconnections = 0',
      'log_pooler_errors = 1',
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  const args = [...(process.getuid?.() === 0 ? ['-u', 'postgres'] : []), path.join(dir, 'pgbouncer.ini')];
  let child: ChildProcess;
  try {
    child = spawn('pgbouncer', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw new Error(`could not start pgbouncer (apt-get install pgbouncer): ${(err as Error).message}`);
  }
  let stderr = '';
  child.stderr?.on('data', (c) => (stderr = (stderr + c).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (err) => reject(new Error(`could not start pgbouncer (apt-get install pgbouncer): ${err.message}`)));
    child.once('exit', (code) => reject(new Error(`pgbouncer exited (${code}): ${stderr}`)));
  });
  failed.catch(() => undefined);
  for (let i = 0; !(await reachable(port)); i++) {
    if (i > 100) throw new Error(`pgbouncer did not listen on ${port}: ${stderr}`);
    await Promise.race([new Promise((r) => setTimeout(r, 50)), failed]);
  }
  return {
    port,
    urlFor(directUrl: string) {
      const u = new URL(directUrl);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
