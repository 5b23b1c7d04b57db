/**
 * Statements compiled once per *shape*. A hot statement whose SQL text depends only on which values
 * are present (not on what they are) is built and compiled by knex once; later calls only put the
 * values in place. On an employee's ticket list, building and compiling the knex query was the
 * largest Node cost of the request.
 *
 * `build` gets a stand-in for each value (a unique string) and must hand each one to knex unchanged
 * as a bound value. Compiling refuses a statement where a bound value is not one of the stand-ins (a
 * value used directly, or transformed first) or where a stand-in is never bound, so no value can be
 * frozen into the cached text. Whatever `build` decides by value rather than by presence must be
 * part of the key (test/ticket-list-template.test.ts holds every shape to a fresh compile).
 */

/** A statement's text in PostgreSQL's `$n` form, and which value goes to each `$n`. */
interface Template {
  sql: string;
  slots: number[];
}

const templates = new Map<string, Template>();

/** The stand-in of value `i` while a template is built: no real value is ever this string. */
const standIn = (i: number) => `\u0000stand-in #${i}\u0000`;

/**
 * The statement for `values` in the template `key` (compiled on first use). `build` returns the
 * compiled statement (`$n` placeholders, knex's `toSQL().toNative()`) for the stand-ins it is given.
 */
export function statementTemplate(key: string, values: readonly unknown[], build: (standIns: readonly string[]) => { sql: string; bindings: readonly unknown[] }): { sql: string; bindings: unknown[] } {
  let t = templates.get(key);
  if (!t) {
    const standIns = values.map((_, i) => standIn(i));
    const compiled = build(standIns);
    const at = new Map(standIns.map((s, i) => [s, i]));
    const name = key.split('\n')[0];
    const slots = compiled.bindings.map((b, i) => {
      const slot = typeof b === 'string' ? at.get(b) : undefined;
      if (slot === undefined) throw new Error(`statement template: bound value ${i + 1} of "${name}" is not one of the values given`);
      return slot;
    });
    if (new Set(slots).size !== values.length) throw new Error(`statement template: a value of "${name}" is never bound`);
    if (standIns.some((s) => compiled.sql.includes(s))) throw new Error(`statement template: a value of "${name}" is part of its text`);
    t = { sql: compiled.sql, slots };
    if (templates.size >= 1_000) templates.clear();
    templates.set(key, t);
  }
  return { sql: t.sql, bindings: t.slots.map((i) => values[i]) };
}
