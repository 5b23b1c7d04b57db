/**
 * Build step (`npm run bundle:cli`): writes what commander prints for `--help` (every command), `--version`
 * and `completion <shell>` into dist/cli/fast/, so bin/smartsupport can answer those without loading
 * commander or the command tree (it starts as fast as `node -e 0`). The texts come from the real
 * commander run (`run()` with the same argv), wrapped at 80 columns — what commander uses when stdout is
 * not a terminal; bin/smartsupport serves them only when the width would be the same.
 * test/cli-fast-path.test.ts checks the served texts against commander's.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { packageRoot } from '../lib/paths.js';
import { buildProgram, run } from './main.js';

export const FAST_DIR = path.join(packageRoot, 'dist', 'cli', 'fast');
export const SHELLS = ['bash', 'zsh', 'fish'];

/** Every command path under the root ([] is the root itself), from the fully loaded tree. */
export async function commandPaths(): Promise<string[][]> {
  const { program } = await buildProgram(['node', 'smartsupport'], { loadAll: true });
  const out: string[][] = [[]];
  const walk = (c: Command, name: string[]) => {
    for (const sub of c.commands) {
      out.push([...name, sub.name()]);
      walk(sub, [...name, sub.name()]);
    }
  };
  walk(program, []);
  return out;
}

/** What the commander CLI prints for these arguments (stdout; it must succeed and print nothing on stderr). */
export async function commanderOutput(args: string[]): Promise<string> {
  let stdout = '';
  let stderr = '';
  const io = {
    env: process.env,
    stdin: process.stdin,
    stdout: { write: (s: string) => ((stdout += s), true), isTTY: false },
    stderr: { write: (s: string) => ((stderr += s), true), isTTY: false },
  } as unknown as NonNullable<Parameters<typeof run>[1]>['io'];
  const code = await run(['node', 'smartsupport', ...args], { io, helpWidth: 80 });
  if (code !== 0 || stderr) throw new Error(`smartsupport ${args.join(' ')} exited ${code}: ${stderr}`);
  return stdout;
}

/** The file bin/smartsupport reads for these arguments (the same naming as there). */
export function fastFile(kind: 'help' | 'completion' | 'version', words: string[] = []): string {
  if (kind === 'help') return path.join(FAST_DIR, `help.${['smartsupport', ...words].join('.')}.txt`);
  if (kind === 'completion') return path.join(FAST_DIR, `completion.${words[0]}.txt`);
  return path.join(FAST_DIR, 'version.txt');
}

async function build(): Promise<void> {
  await rm(FAST_DIR, { recursive: true, force: true });
  await mkdir(FAST_DIR, { recursive: true });
  const paths = await commandPaths();
  for (const words of paths) {
    if (!words.every((w) => /^[a-z][a-z0-9-]*$/.test(w))) throw new Error(`command name bin/smartsupport cannot serve: ${words.join(' ')}`);
    await writeFile(fastFile('help', words), await commanderOutput([...words, '--help']));
  }
  for (const shell of SHELLS) await writeFile(fastFile('completion', [shell]), await commanderOutput(['completion', shell]));
  await writeFile(fastFile('version'), await commanderOutput(['--version']));
  process.stdout.write(`fast path: ${paths.length} help texts, ${SHELLS.length} completion scripts, the version in ${path.relative(packageRoot, FAST_DIR)}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.join(packageRoot, 'dist', 'src', 'cli', 'fast-path-build.js')) {
  build().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`fast-path build: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
