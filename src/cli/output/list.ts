/** Fetch a list endpoint: one page, or every page with --all (progress on stderr on a TTY). */
import type { ApiResponse } from '../../client/http.js';
import type { CallOptions, ItemOf, PathsFor } from '../../client/typed.js';
import type { Factory } from '../factory.js';
import { jsonFields, print, tsvLine, type PrintOptions } from './print.js';

export interface ListFlags {
  limit?: number;
  cursor?: string;
  all?: boolean;
}

export interface ListPage<T> {
  data: T[];
  next_cursor: string | null;
}

/** `path` is a paged GET operation of the spec; `opts` its path parameters and filters (not limit/cursor: those come from `flags`). */
export async function fetchList<P extends PathsFor<'get'>>(f: Factory, path: P, opts: Pick<CallOptions<P, 'get'>, 'path' | 'query'>, flags: ListFlags): Promise<ListPage<ItemOf<P>>> {
  const client = f.client();
  // `call` with a path chosen by our caller: its options were checked there, against the same operation
  const get = client.call.bind(client) as unknown as (method: 'get', path: P, opts: object) => Promise<ApiResponse<ListPage<ItemOf<P>>>>;
  const data: ItemOf<P>[] = [];
  let cursor = flags.cursor;
  const progress = Boolean(f.io.stderr.isTTY);
  for (;;) {
    const res = await get('get', path, { ...opts, query: { ...(opts.query ?? {}), limit: flags.all ? 100 : flags.limit, cursor } });
    data.push(...res.data.data);
    cursor = res.data.next_cursor ?? undefined;
    if (!flags.all || !cursor) {
      if (flags.all && progress) f.io.stderr.write(`\rfetched ${data.length}.\n`);
      return { data, next_cursor: res.data.next_cursor };
    }
    if (progress) f.io.stderr.write(`\rfetched ${data.length}…`);
  }
}

/** On stderr, how to get the next page: not after --all (nothing is left), nor with --json (output for scripts). */
export function hintMore(f: Factory, page: ListPage<unknown>, flags: ListFlags & { json?: boolean | string }): void {
  if (page.next_cursor && !flags.all && flags.json === undefined) f.err(`more: --cursor ${page.next_cursor}`);
}

/**
 * A list command's output. With --all and --json (or off a TTY, tab-separated) every page is
 * written as it arrives and dropped, waiting for a slow reader (a pipe) to drain: an export of a
 * million tickets runs in constant memory, and the bytes equal the one-shot output. A table on a
 * TTY needs every row for its column widths: that path still collects the pages.
 */
export async function printList<P extends PathsFor<'get'>>(f: Factory, path: P, opts: Pick<CallOptions<P, 'get'>, 'path' | 'query'>, flags: ListFlags & { json?: boolean | string }, output: PrintOptions): Promise<void> {
  const json = output.json !== undefined && output.json !== false;
  if (!flags.all || (!json && f.io.stdout.isTTY)) {
    const page = await fetchList(f, path, opts, flags);
    await print(f, page.data as Record<string, unknown>[], output);
    hintMore(f, page, flags);
    return;
  }
  const client = f.client();
  const get = client.call.bind(client) as unknown as (method: 'get', path: P, opts: object) => Promise<ApiResponse<ListPage<Record<string, unknown>>>>;
  const stdout = f.io.stdout;
  const write = async (text: string) => {
    if (!stdout.write(text)) await new Promise<void>((resolve) => stdout.once('drain', () => resolve()));
  };
  const progress = Boolean(f.io.stderr.isTTY);
  let cursor = flags.cursor;
  let count = 0;
  let fields: string[] | undefined;
  const columns = output.columns;
  for (;;) {
    const res = await get('get', path, { ...opts, query: { ...(opts.query ?? {}), limit: 100, cursor } });
    const rows = res.data.data;
    if (json) {
      if (count === 0 && rows.length) fields = jsonFields(output.json, rows[0], columns.map((c) => c.key));
      const shaped = fields ? rows.map((r) => Object.fromEntries(fields!.map((k) => [k, r[k]]))) : rows;
      let text = '';
      for (const [i, r] of shaped.entries()) text += `${count + i === 0 ? '[\n' : ',\n'}${JSON.stringify(r, null, 2).replace(/^/gm, '  ')}`;
      if (text) await write(text);
    } else {
      // the same cells as print()'s tab-separated output
      const lines: string[] = [];
      for (const r of rows) lines.push(tsvLine(columns, r));
      if (lines.length) await write(lines.join('\n') + '\n');
    }
    count += rows.length;
    cursor = res.data.next_cursor ?? undefined;
    if (!cursor) break;
    if (progress) f.io.stderr.write(`\rfetched ${count}…`);
  }
  if (json) await write(count === 0 ? '[]\n' : '\n]\n');
  if (progress) f.io.stderr.write(`\rfetched ${count}.\n`);
}
