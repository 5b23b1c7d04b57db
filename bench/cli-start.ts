/**
 * `smartsupport --help` wall time vs `node -e 0`: runs interleaved (one of each in turn, so a shared
 * machine's load falls on both alike), median of each. `--help` is bin/smartsupport's fast path (texts
 * the build wrote, no commander); `tickets list --help` is the same through a noun whose help is also
 * served that way, `config path` the full commander start for comparison.
 */
import { spawnSync } from 'node:child_process';
import { round, type Benchmark } from './lib.js';

function once(args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: 'ignore', env: { ...process.env, XDG_CONFIG_HOME: '/nonexistent-ss-bench' } });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export const cliStart: Benchmark = {
  name: 'cli-start',
  async run() {
    const cases: Record<string, string[]> = {
      base: ['-e', '0'],
      help: ['bin/smartsupport', '--help'],
      noun: ['bin/smartsupport', 'tickets', 'list', '--help'],
      full: ['bin/smartsupport', 'config', 'path'],
    };
    const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
    for (const args of Object.values(cases)) once(args); // warm the file cache
    for (let i = 0; i < 41; i++) for (const [k, args] of Object.entries(cases)) times[k].push(once(args));
    const base = median(times.base);
    const ours = median(times.help);
    const ratio = ours / base;
    const note = `tickets list --help ${round(median(times.noun) / base, 3)}×, config path (full commander start) ${round(median(times.full) / base, 3)}×`;
    return { name: 'cli-start', metric: 'ms (median)', ours: round(ours), baseline: round(base), ratio: round(ratio, 3), target: '≤ 1.15', pass: ratio <= 1.15, note };
  },
};
