/**
 * Helpers every verb uses, so commands stay consistent: the operationId(s) a verb calls (the parity
 * test walks them against openapi.yaml), `--json [fields]`, and list flags.
 */
import type { Command } from 'commander';

const OPS = Symbol.for('smartsupport.operationIds');

/** Register `<noun> <name>`; `operationIds` are the API operations it calls. */
export function defineVerb(parent: Command, name: string, operationIds: string | string[], description: string): Command {
  return tagOperations(parent.command(name).description(description), operationIds);
}

/** Record the API operations a command calls (for commands not made by defineVerb, e.g. `login`). */
export function tagOperations(c: Command, operationIds: string | string[]): Command {
  (c as unknown as Record<symbol, string[]>)[OPS] = Array.isArray(operationIds) ? operationIds : [operationIds];
  return c;
}

export function operationIdsOf(c: Command): string[] {
  return (c as unknown as Record<symbol, string[] | undefined>)[OPS] ?? [];
}

/** `--json [fields]`: whole objects, or only the comma-separated fields. */
export function withJson(c: Command): Command {
  return c.option('--json [fields]', 'print JSON (optionally only these comma-separated fields)');
}

/** `--limit`, `--cursor`, `--all` for list commands. */
export function withPaging(c: Command): Command {
  return c
    .option('--limit <n>', 'page size (1–100)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 100) throw new Error('--limit must be an integer from 1 to 100');
      return n;
    })
    .option('--cursor <cursor>', 'continue from a previous page')
    .option('--all', 'follow cursors and print every page');
}
