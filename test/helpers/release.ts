/**
 * A previous release, installed and built from this repository's git history, for the upgrade test
 * (test/upgrade-compat.test.ts). `git archive <commit>` into a cache directory keyed by the commit,
 * then `npm ci` (whose `prepare` builds it); a finished copy carries a `.ready` marker, so reruns
 * reuse it. Cache: SS_RELEASE_CACHE, else ~/.cache/smartsupport/releases.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../../src/lib/paths.js';

const run = promisify(execFile);

function sh(cmd: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'development' } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} in ${cwd} exited ${code}:\n${out.slice(-3000)}`))));
  });
}

/** The directory of `commit`, installed and built (done once per machine and commit). */
export async function release(commit: string): Promise<string> {
  const cache = process.env.SS_RELEASE_CACHE ?? path.join(os.homedir(), '.cache', 'smartsupport', 'releases');
  const dir = path.join(cache, commit);
  if (existsSync(path.join(dir, '.ready'))) return dir;
  await run('git', ['cat-file', '-e', `${commit}^{commit}`], { cwd: packageRoot }).catch(() => {
    throw new Error(`commit ${commit} is not in this clone's history (a shallow clone? fetch it: git fetch --unshallow)`);
  });
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    await sh('sh', ['-c', `git -C "${packageRoot}" archive ${commit} | tar -x -C "${tmp}"`], tmp);
    await sh('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], tmp); // prepare: npm run build
    if (!existsSync(path.join(tmp, 'dist', 'cli', 'main.js'))) await sh('npm', ['run', 'build'], tmp);
    await writeFile(path.join(tmp, '.ready'), `${commit}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  return dir;
}
