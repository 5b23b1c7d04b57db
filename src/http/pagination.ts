/**
 * Keyset pagination: `?limit=` (1–100) and an opaque `?cursor=`; responses are
 * `{ data, next_cursor }`. The cursor encodes the sort key of the last row returned, so a page at
 * any depth costs the same (an index range scan), and inserts never shift pages.
 */
import type { Knex } from 'knex';
import { queryNative } from '../db/knex.js';
import { statementTemplate } from '../db/statement-template.js';
import { isBadString } from '../lib/strings.js';
import { badRequest } from './errors.js';

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export interface SortKey {
  /** SQL column (qualified if the query joins), e.g. `t.id` */
  column: string;
  /** property of the returned row holding that value */
  prop: string;
}

export interface PageOptions {
  limit?: number;
  cursor?: string;
  /** the unique, indexed sort key; last element must be unique (usually the id) */
  keys?: SortKey[];
  direction?: 'asc' | 'desc';
}

export function encodeCursor(values: unknown[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

export function decodeCursor(cursor: string, arity: number): unknown[] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    // a string value must be one PostgreSQL can compare (no NUL, no lone surrogate)
    const ok = (x: unknown) => typeof x === 'number' || (typeof x === 'string' && !isBadString(x));
    if (Array.isArray(v) && v.length === arity && v.every(ok)) return v;
  } catch {
    /* fall through */
  }
  throw badRequest('invalid_cursor', 'The cursor is not valid; start again without it.', [{ field: 'query.cursor', message: 'is not a cursor from this list' }]);
}

/** The keyset condition for a page after `values` (the cursor's), and the order. */
function applyKeyset(qb: Knex.QueryBuilder, keys: SortKey[], direction: 'asc' | 'desc', values: readonly unknown[] | undefined): void {
  if (values) {
    const cols = keys.map((k) => k.column);
    qb.whereRaw(`(${cols.map(() => '??').join(', ')}) ${direction === 'desc' ? '<' : '>'} (${cols.map(() => '?').join(', ')})`, [...cols, ...values] as Knex.RawBinding[]);
  }
  for (const k of keys) qb.orderBy(k.column, direction);
}

function pageOf<T extends Record<string, unknown>>(rows: T[], limit: number, keys: SortKey[]): Page<T> {
  const more = rows.length > limit;
  const data = more ? rows.slice(0, limit) : rows;
  const last = data[data.length - 1];
  const toCursorValue = (v: unknown) => (v instanceof Date ? v.toISOString() : v);
  return { data, next_cursor: more && last ? encodeCursor(keys.map((k) => toCursorValue(last[k.prop]))) : null };
}

const pageLimit = (limit: number | undefined) => Math.min(Math.max(limit ?? 20, 1), 100);

/**
 * Apply keyset pagination to `qb` (which must not have its own order/limit) and run it.
 * Fetches one extra row to know whether there is a next page.
 */
export async function paginate<T extends Record<string, unknown>>(qb: Knex.QueryBuilder, opts: PageOptions = {}): Promise<Page<T>> {
  const keys = opts.keys ?? [{ column: 'id', prop: 'id' }];
  const direction = opts.direction ?? 'desc';
  const limit = pageLimit(opts.limit);
  applyKeyset(qb, keys, direction, opts.cursor ? decodeCursor(opts.cursor, keys.length) : undefined);
  // LIMIT as an expression the planner cannot fold at plan time: it then plans for a small part of
  // the matching rows and takes the ordered index scan (no sort), whatever the statistics say — a
  // constant LIMIT close to an estimate made without statistics got a bitmap scan of every match
  // and a sort instead (test/query-plans.test.ts)
  const { sql, bindings } = qb.toSQL();
  const client = (qb as unknown as { client: { raw(sql: string, b: readonly unknown[]): Promise<{ rows: T[] }> } }).client;
  return pageOf((await client.raw(`${sql} limit (select ?::int)`, [...bindings, limit + 1])).rows, limit, keys);
}

/**
 * A page of a hot list whose SQL text depends only on its *shape* (which filters are present, how
 * many values a list filter has, the order), as a named prepared statement (pool only), compiled once
 * per shape (src/db/statement-template.ts): `build` gets a stand-in for each of `values` and must
 * pass each one to knex unchanged as a bound value. What `build` decides by value rather than by
 * presence must be in `shape` (test/ticket-list-template.test.ts compares every filter combination
 * with a fresh compile).
 */
export async function paginateTemplate<T extends Record<string, unknown>>(
  db: Knex,
  name: string,
  shape: string,
  values: readonly unknown[],
  build: (standIns: readonly unknown[]) => Knex.QueryBuilder,
  opts: PageOptions & {
    /** run this query, built from the values themselves, instead of the template (for tests comparing the two) */
    fresh?: Knex.QueryBuilder;
  } = {},
): Promise<Page<T>> {
  const keys = opts.keys ?? [{ column: 'id', prop: 'id' }];
  const direction = opts.direction ?? 'desc';
  const limit = pageLimit(opts.limit);
  const cursor = opts.cursor ? decodeCursor(opts.cursor, keys.length) : undefined;
  const page = (qb: Knex.QueryBuilder, v: readonly unknown[]) => {
    applyKeyset(qb, keys, direction, cursor ? v.slice(values.length, values.length + keys.length) : undefined);
    return { qb, limit: v[v.length - 1] };
  };
  const all = [...values, ...(cursor ?? []), limit + 1];
  const key = `${name}\n${shape}\n${direction}\n${keys.map((k) => k.column).join()}\n${cursor ? 'after' : 'first'}`;
  const { sql, bindings } = opts.fresh ? withLimit(page(opts.fresh, all)) : pageStatement(key, all, (v) => page(build(v.slice(0, values.length)), v));
  return pageOf(await queryNative<T>(db, name, sql, bindings), limit, keys);
}

/** A page query compiled to `$n` form, with its LIMIT as a parameter the planner cannot fold (see paginate). */
function withLimit({ qb, limit }: { qb: Knex.QueryBuilder; limit: unknown }): { sql: string; bindings: unknown[] } {
  const { sql, bindings } = qb.toSQL().toNative();
  return { sql: `${sql} limit (select $${bindings.length + 1}::int)`, bindings: [...bindings, limit] };
}

/** The page statement for `values` in a shape's template (compiled on first use). Exported for tests. */
export function pageStatement(key: string, values: readonly unknown[], build: (standIns: readonly unknown[]) => { qb: Knex.QueryBuilder; limit: unknown }): { sql: string; bindings: unknown[] } {
  return statementTemplate(key, values, (v) => withLimit(build(v)));
}
