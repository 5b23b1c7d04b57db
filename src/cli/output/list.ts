/** Fetch a list endpoint: one page, or every page with --all (progress on stderr on a TTY). */
import type { ApiResponse } from '../../client/http.js';
import type { CallOptions, ItemOf, PathsFor } from '../../client/typed.js';
import type { Factory } from '../factory.js';

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
