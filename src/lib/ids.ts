/**
 * Human ids: `MA0001` (employees), `TX0001` (tickets) — prefix + at least four digits, from a
 * database sequence through SQL `format_human_id(prefix, n)`. Path ids accept either the numeric
 * id or the human id.
 */
export function formatHumanId(prefix: string, n: number): string {
  return prefix + (n < 10000 ? String(n).padStart(4, '0') : String(n));
}

export type IdRef = { by: 'id'; value: number } | { by: 'human'; value: string };

/** Parse a path id: `42` → numeric id; `TX0042` (case-insensitive prefix) → human id. Undefined if neither. */
export function parseIdRef(raw: string, prefix: string): IdRef | undefined {
  if (/^\d{1,15}$/.test(raw)) return { by: 'id', value: Number(raw) };
  const m = new RegExp(`^${prefix}(\\d{4,15})$`, 'i').exec(raw);
  if (m) return { by: 'human', value: prefix.toUpperCase() + m[1] };
  return undefined;
}
