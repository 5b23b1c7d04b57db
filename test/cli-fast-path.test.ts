/**
 * bin/smartsupport answers `--help` / `help` (every command), `--version` and `completion <shell>` from
 * texts the build wrote (src/cli/fast-path-build.ts) without loading commander. Those answers must be
 * byte for byte what commander prints: every command's text is compared with commander's output for the
 * same argv (in process, width 80 as off a terminal), the binary's argv-to-text mapping is checked for every
 * command and the binary itself run for a sample of them, the fast path is shown not to load commander,
 * and anything it does not cover (other widths, unknown commands) reaches commander.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import t from 'tap';
import { commanderOutput, commandPaths, fastFile, SHELLS } from '../src/cli/fast-path-build.js';
import { run } from '../src/cli/main.js';
import { packageRoot } from '../src/lib/paths.js';

interface Result { code: number | null; stdout: string; stderr: string }

function bin(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/smartsupport', ...args], {
      cwd: packageRoot,
      env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Run `fn` over `items`, `n` at a time (spawning 140 processes at once would swamp a shared machine). */
async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

const paths = await commandPaths();

t.test('the build wrote a help text for every command, equal to commander\'s for `X --help` and `help X`', async (t) => {
  t.ok(paths.length > 100, `${paths.length} commands`);
  for (const words of paths) {
    const name = ['smartsupport', ...words].join(' ');
    const file = await readFile(fastFile('help', words), 'utf8').catch(() => undefined);
    t.equal(file, await commanderOutput([...words, '--help']), `${name} --help`);
    if (words.length === 1) t.equal(file, await commanderOutput(['help', ...words]), `smartsupport help ${words.join(' ')}`);
  }
  for (const shell of SHELLS) t.equal(await readFile(fastFile('completion', [shell]), 'utf8'), await commanderOutput(['completion', shell]), `completion ${shell}`);
  t.equal(await readFile(fastFile('version'), 'utf8'), await commanderOutput(['--version']), '--version');
});

t.test('the binary maps every command\'s help to the text the build wrote for it', async (t) => {
  const { fastFile: binFastFile } = createRequire(import.meta.url)('../bin/smartsupport') as { fastFile: (args: string[]) => string | undefined };
  for (const words of paths) {
    const name = ['smartsupport', ...words].join(' ');
    const want = path.basename(fastFile('help', words));
    t.equal(binFastFile([...words, '--help']), want, `${name} --help`);
    t.equal(binFastFile([...words, '-h']), want, `${name} -h`);
    if (words.length === 1) t.equal(binFastFile(['help', ...words]), want, `smartsupport help ${words.join(' ')}`);
  }
});

t.test('the binary prints commander\'s help, exit 0, and nothing on stderr (the root, the longest texts, the deepest commands and every 10th)', async (t) => {
  // the mapping is checked for every command above and the texts against commander's in the first
  // test; spawning the binary for all ~140 commands cost 15 s of CPU to prove the same read-and-write
  const sizes = await Promise.all(paths.map(async (words) => (await readFile(fastFile('help', words))).length));
  const longest = [...paths.keys()].sort((a, b) => sizes[b]! - sizes[a]!).slice(0, 3);
  const depth = Math.max(...paths.map((w) => w.length));
  const sample = paths.filter((words, i) => i === 0 || longest.includes(i) || words.length === depth || i % 10 === 0);
  t.ok(sample.length >= 15, `${sample.length} of ${paths.length} commands through the binary`);
  await pool(sample, 3, async (words) => {
    const r = await bin([...words, '--help']);
    t.equal(r.code, 0, `${words.join(' ') || '(root)'} exit`);
    t.equal(r.stderr, '');
    t.equal(r.stdout, await commanderOutput([...words, '--help']), `smartsupport ${words.join(' ')} --help`);
  });
});

t.test('the other spellings and the completion scripts come through the binary unchanged', async (t) => {
  const cases = [['help'], ['-h'], ['help', 'tickets'], ['help', 'profile', 'notifications', 'show'], ['tickets', 'list', '-h'], ['--version'], ['-V'], ...SHELLS.map((s) => ['completion', s])];
  for (const args of cases) {
    const r = await bin(args);
    t.equal(r.code, 0, args.join(' '));
    t.equal(r.stdout, await commanderOutput(args), `smartsupport ${args.join(' ')}`);
  }
});

t.test('the fast path loads no commander; the same binary loads it for everything else', async (t) => {
  for (const args of [['--help'], ['tickets', '--help'], ['help', 'employees'], ['employees', 'approve', '-h'], ['completion', 'bash'], ['--version']]) {
    const r = await bin(args, { NODE_DEBUG: 'module' });
    t.equal(r.code, 0);
    t.notMatch(r.stderr, /commander/, `${args.join(' ')}: commander not loaded`);
  }
  const slow = await bin(['config', 'path'], { NODE_DEBUG: 'module', XDG_CONFIG_HOME: '/tmp/ss-fast-path-none' });
  t.match(slow.stderr, /commander/, 'a real command loads commander (the check above can fail)');
});

t.test('what the texts do not cover reaches commander', async (t) => {
  const unknown = await bin(['no-such-command', '--help']);
  const inProcess = { stdout: '', stderr: '' };
  const io = {
    env: process.env,
    stdin: process.stdin,
    stdout: { write: (s: string) => ((inProcess.stdout += s), true) },
    stderr: { write: (s: string) => ((inProcess.stderr += s), true) },
  } as unknown as NonNullable<Parameters<typeof run>[1]>['io'];
  const code = await run(['node', 'smartsupport', 'no-such-command', '--help'], { io, helpWidth: 80 });
  t.equal(unknown.code, code, 'unknown command: commander\'s exit code');
  t.equal(unknown.stdout, inProcess.stdout);
  t.equal(unknown.stderr, inProcess.stderr, 'and its message');
  const bad = await bin(['completion', 'tcsh']);
  t.equal(bad.code, 2, 'an unsupported shell is a usage error');
  t.match(bad.stderr, /unsupported shell tcsh/);
  const globals = await bin(['--profile', 'work', 'tickets', '--help']);
  t.equal(globals.stdout, await commanderOutput(['tickets', '--help']), 'with a global option first: commander, same text');
});

t.test('a terminal of another width gets commander\'s wrapping, not the 80-column texts', async (t) => {
  // util-linux `script` gives the binary a pseudo-terminal; without it this case cannot be set up here
  const probe = await new Promise<number | null>((resolve) => {
    const c = spawn('script', ['--version'], { stdio: 'ignore' });
    c.on('error', () => resolve(null));
    c.on('exit', (code) => resolve(code));
  });
  if (probe !== 0) {
    t.comment('util-linux `script` is not installed: case not run');
    t.pass('skipped');
    return;
  }
  const r = await new Promise<string>((resolve) => {
    const c = spawn('script', ['-qc', `stty cols 120; ${process.execPath} bin/smartsupport --help`, '/dev/null'], { cwd: packageRoot, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('exit', () => resolve(out.replace(/\r\n/g, '\n')));
  });
  let wide = '';
  const io = { env: process.env, stdin: process.stdin, stdout: { write: (s: string) => ((wide += s), true) }, stderr: { write: () => true } } as unknown as NonNullable<Parameters<typeof run>[1]>['io'];
  await run(['node', 'smartsupport', '--help'], { io, helpWidth: 120 });
  t.not(wide, await commanderOutput(['--help']), '120 columns wrap differently from 80');
  t.equal(r, wide, 'the binary on a 120-column terminal prints commander\'s 120-column help');
});
