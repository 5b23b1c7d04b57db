/**
 * A throwaway Dovecot IMAP server for one test file (Debian's `dovecot-imapd`, installed by .ci/run):
 * config, users and maildirs in a temp directory, listening on 127.0.0.1 on a free port, stopped
 * and removed at teardown. Returns undefined when dovecot is not installed (the caller skips, saying so).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { T } from './harness.js';
import { waitFor } from './outbound.js';

export const DOVECOT_BIN = ['/usr/sbin/dovecot', '/usr/local/sbin/dovecot'].find((p) => existsSync(p));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('data', (d) => {
      c.destroy();
      resolve(/^\* OK/.test(d.toString()));
    });
    c.once('error', () => resolve(false));
  });

export async function startDovecot(t: T, users: Record<string, string>): Promise<{ port: number; url(user: string): string } | undefined> {
  if (!DOVECOT_BIN) return undefined;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ss-dovecot-'));
  await chmod(dir, 0o755);
  const root = process.getuid?.() === 0;
  // as root, mail is owned by nobody (Dovecot refuses uid 0 for mail); otherwise by the caller
  const uid = root ? 65534 : process.getuid!();
  const gid = root ? 65534 : process.getgid!();
  const me = os.userInfo().username;
  for (const d of ['run', 'state', 'mail']) await mkdir(path.join(dir, d));
  if (root) await chown(path.join(dir, 'mail'), uid, gid);
  const port = await freePort();
  await writeFile(path.join(dir, 'users'), Object.entries(users).map(([u, p]) => `${u}:{PLAIN}${p}\n`).join(''), { mode: 0o644 });
  await writeFile(
    path.join(dir, 'dovecot.conf'),
    `base_dir = ${dir}/run
state_dir = ${dir}/state
instance_name = ss-test-${port}
log_path = ${dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:${dir}/mail/%u
first_valid_uid = 1
${root ? '' : `default_internal_user = ${me}\ndefault_login_user = ${me}\n`}passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/users
}
userdb {
  driver = static
  args = uid=${uid} gid=${gid} home=${dir}/mail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
}
service submission-login {
  inet_listener submission {
    port = 0
  }
}
`,
  );
  const child = spawn(DOVECOT_BIN, ['-F', '-c', path.join(dir, 'dovecot.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(async () => {
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`dovecot exited: ${stderr}`);
    return accepts(port);
  }, 'dovecot accepting IMAP connections');
  return { port, url: (user) => `imap://${encodeURIComponent(user)}:${encodeURIComponent(users[user]!)}@127.0.0.1:${port}` };
}
