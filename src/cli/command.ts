/**
 * Helpers every verb uses, so commands stay consistent: the operationId(s) a verb calls (the parity
 * test walks them against openapi.yaml), `--json [fields]`, and list flags.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { BodyOf } from '../client/typed.js';
import type { Factory } from './factory.js';

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

/**
 * The request body from the flags that were given: `fields` maps option keys (commander's camelCase)
 * to API fields. Flags left out are left out of the body; for the `clearable` ones an empty string
 * ("" on the command line) becomes null, which clears the field.
 */
export function bodyFromFlags(opts: Record<string, unknown>, fields: Record<string, string>, clearable: readonly string[] = []): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(fields)) {
    const v = opts[key];
    if (v === undefined) continue;
    body[field] = clearable.includes(key) && v === '' ? null : v;
  }
  return body;
}

/** `--first-name`, `--last-name`, `--middle-name`, `--suffix` ("" clears the last two), as `bodyFromFlags` maps them. */
export const NAME_FLAGS = { firstName: 'first_name', lastName: 'last_name', middleName: 'middle_name', suffix: 'suffix' } as const satisfies Record<string, keyof BodyOf<'/api/employee/profile/', 'patch'>>;
export const CLEARABLE_NAME_FLAGS = ['middleName', 'suffix'] as const;

export function withNameOptions(c: Command): Command {
  return c
    .option('--first-name <name>', 'first name')
    .option('--last-name <name>', 'last name')
    .option('--middle-name <name>', 'middle name ("" clears it)')
    .option('--suffix <suffix>', 'suffix ("" clears it)');
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
      if (!Number.isInteger(n) || n < 1 || n > 100) throw new InvalidArgumentError('must be an integer from 1 to 100');
      return n;
    })
    .option('--cursor <cursor>', 'continue from a previous page')
    .option('--all', 'follow cursors and print every page');
}

/** `-y, --yes` for destructive commands (see `confirmOrStop`). */
export function withYes(c: Command): Command {
  return c.option('-y, --yes', 'do not ask for confirmation (required off a terminal)');
}

/**
 * Ask before a destructive command. `--yes` skips the question; off a terminal without it this is a
 * usage error (exit 2) naming --yes; answering no stops the command with exit 1 ("cancelled").
 */
export async function confirmOrStop(f: Factory, yes: boolean | undefined, message: string): Promise<void> {
  if (yes) return;
  const { CliError, EXIT } = await import('./errors.js');
  const p = await f.prompter('--yes');
  if (!(await p.confirm({ message, default: false }))) throw new CliError('cancelled', EXIT.error);
}
