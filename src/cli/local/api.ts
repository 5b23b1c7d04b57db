import type { Command } from 'commander';
import type { Factory } from '../factory.js';
import { usageError } from '../errors.js';

function parseHeader(h: string, acc: Record<string, string>): Record<string, string> {
  const i = h.indexOf(':');
  if (i <= 0) throw usageError(`--header must be "Name: value", got "${h}"`);
  acc[h.slice(0, i).trim()] = h.slice(i + 1).trim();
  return acc;
}

export function register(program: Command, factory: () => Factory): void {
  program
    .command('api')
    .description('make an authenticated API request and print the response (like `gh api`)')
    .argument('<method>', 'HTTP method: GET, POST, PUT, PATCH or DELETE')
    .argument('<path>', 'path, e.g. /api/tickets/?status=Open')
    .option('-d, --data <json>', 'JSON request body ("-" reads it from stdin)')
    .option('-H, --header <header>', 'extra header "Name: value" (repeatable)', parseHeader, {})
    .option('-i, --include', 'print the status line and headers to stderr')
    .action(async (method: string, path: string, opts: { data?: string; header: Record<string, string>; include?: boolean }) => {
      const f = factory();
      const m = method.toUpperCase();
      if (!['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'].includes(m)) throw usageError(`unknown method ${method}`);
      let body: unknown;
      if (opts.data !== undefined) {
        const text = opts.data === '-' ? await f.stdinText() : opts.data;
        try {
          body = JSON.parse(text);
        } catch {
          throw usageError('--data must be valid JSON');
        }
      }
      const url = new URL(path, 'http://x');
      const query: Record<string, string[]> = {};
      url.searchParams.forEach((v, k) => (query[k] ??= []).push(v));
      const res = await f.client().request(m, url.pathname, { query, body, headers: opts.header });
      if (opts.include) {
        f.err(`HTTP ${res.status}`);
        res.headers.forEach((v, k) => f.err(`${k}: ${v}`));
      }
      if (res.data !== undefined) f.out(typeof res.data === 'string' ? res.data : JSON.stringify(res.data, null, 2));
    });
}
