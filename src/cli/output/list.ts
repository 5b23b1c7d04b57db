/** Fetch a list endpoint: one page, or every page with --all (progress on stderr on a TTY). */
import type { Factory } from '../factory.js';

export interface ListFlags {
  limit?: number;
  cursor?: string;
  all?: boolean;
}

export async function fetchList<T = Record<string, unknown>>(
  f: Factory,
  path: string,
  query: Record<string, string | number | boolean | (string | number)[] | undefined>,
  flags: ListFlags,
): Promise<{ data: T[]; next_cursor: string | null }> {
  const client = f.client();
  const data: T[] = [];
  let cursor = flags.cursor;
  const progress = Boolean(f.io.stderr.isTTY);
  for (;;) {
    const res = await client.request<{ data: T[]; next_cursor: string | null }>('GET', path, { query: { ...query, limit: flags.all ? 100 : flags.limit, cursor } });
    data.push(...res.data.data);
    cursor = res.data.next_cursor ?? undefined;
    if (!flags.all || !cursor) {
      if (flags.all && progress) f.io.stderr.write(`\rfetched ${data.length}.\n`);
      return { data, next_cursor: res.data.next_cursor };
    }
    if (progress) f.io.stderr.write(`\rfetched ${data.length}…`);
  }
}
