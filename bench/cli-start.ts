/** `smartsupport --help` wall time vs `node -e 0` (median of several runs). */
import { spawnSync } from 'node:child_process';
import { round, type Benchmark } from './lib.js';

function median(cmd: string, args: string[], runs = 15): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

export const cliStart: Benchmark = {
  name: 'cli-start',
  async run() {
    median(process.execPath, ['bin/smartsupport', '--help'], 2); // warm the file cache
    const base = median(process.execPath, ['-e', '0']);
    const ours = median(process.execPath, ['bin/smartsupport', '--help']);
    const ratio = ours / base;
    return { name: 'cli-start', metric: 'ms (median)', ours: round(ours), baseline: round(base), ratio: round(ratio, 3), target: '≤ 1.5', pass: ratio <= 1.5 };
  },
};
