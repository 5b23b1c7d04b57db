/**
 * Output: `--json` prints full objects (stable shape) or only the named fields; on a TTY a table;
 * off a TTY tab-separated values (easy to cut/awk). Data goes to stdout, messages to stderr.
 */
import type { Factory } from '../factory.js';
import { usageError } from '../errors.js';

export interface Column {
  key: string;
  header?: string;
  /** how to render the value in a table/TSV */
  format?: (value: unknown, row: Record<string, unknown>) => string;
}

export interface PrintOptions {
  /** true: whole objects; string: comma-separated field list */
  json?: boolean | string;
  columns: Column[];
}

function pick(obj: Record<string, unknown>, fields: string[]): Record<string, unknown> {
  return Object.fromEntries(fields.map((f) => [f, obj[f]]));
}

export function jsonFields(json: boolean | string | undefined, sample: Record<string, unknown> | undefined, known: string[]): string[] | undefined {
  if (typeof json !== 'string') return undefined;
  const fields = json.split(',').map((s) => s.trim()).filter(Boolean);
  // with no object to compare against (an empty list) any field may exist: nothing to reject
  if (!sample) return fields;
  const allowed = new Set([...known, ...Object.keys(sample)]);
  const unknown = fields.filter((f) => !allowed.has(f));
  if (unknown.length) throw usageError(`unknown field(s) for --json: ${unknown.join(', ')} (available: ${[...allowed].join(', ')})`);
  return fields;
}

const cell = (c: Column, row: Record<string, unknown>): string => {
  const v = row[c.key];
  if (c.format) return c.format(v, row);
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.join(', ');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
};

/** One row of the tab-separated output (off a TTY). */
export const tsvLine = (columns: Column[], row: Record<string, unknown>): string => columns.map((c) => cell(c, row).replace(/[\t\n]/g, ' ')).join('\t');

/** Print one object or a list. */
export async function print(f: Factory, data: Record<string, unknown> | Record<string, unknown>[], opts: PrintOptions): Promise<void> {
  const rows = Array.isArray(data) ? data : [data];
  if (opts.json !== undefined && opts.json !== false) {
    const fields = jsonFields(opts.json, rows[0], opts.columns.map((c) => c.key));
    const shaped = fields ? rows.map((r) => pick(r, fields)) : rows;
    f.out(JSON.stringify(Array.isArray(data) ? shaped : shaped[0], null, 2));
    return;
  }
  if (!f.io.stdout.isTTY) {
    for (const r of rows) f.out(tsvLine(opts.columns, r));
    return;
  }
  if (rows.length === 0) {
    f.err('(none)');
    return;
  }
  const [{ default: Table }, chalk] = await Promise.all([import('cli-table3'), f.color ? import('chalk').then((m) => m.default) : Promise.resolve(undefined)]);
  if (!Array.isArray(data)) {
    const t = new Table({ style: { head: [], border: [] } });
    for (const c of opts.columns) t.push({ [chalk ? chalk.bold(c.header ?? c.key) : (c.header ?? c.key)]: cell(c, data) });
    f.out(t.toString());
    return;
  }
  const t = new Table({ head: opts.columns.map((c) => (chalk ? chalk.bold(c.header ?? c.key) : (c.header ?? c.key))), style: { head: [], border: [] }, wordWrap: true });
  for (const r of rows) t.push(opts.columns.map((c) => cell(c, r)));
  f.out(t.toString());
}
