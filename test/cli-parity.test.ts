/** One CLI command for every operation in openapi.yaml, and no command calling an operation the spec lacks. */
import t from 'tap';
import type { Command } from 'commander';
import { operationIdsOf } from '../src/cli/command.js';
import { buildProgram } from '../src/cli/main.js';
import { loadSpec } from '../src/http/openapi.js';

const spec = loadSpec();
const { program } = await buildProgram(['node', 'smartsupport'], { loadAll: true });

const covered = new Map<string, string[]>();
const walk = (c: Command, prefix: string[]) => {
  for (const sub of c.commands) {
    const name = [...prefix, sub.name()];
    for (const id of operationIdsOf(sub)) covered.set(id, [...(covered.get(id) ?? []), name.join(' ')]);
    walk(sub, name);
  }
};
walk(program, []);

t.test('every operation has a command', async (t) => {
  const missing = spec.operations.filter((o) => !covered.has(o.operationId)).map((o) => `${o.operationId} (${o.method.toUpperCase()} ${o.path})`);
  t.same(missing, [], 'operations without a CLI command');
});

t.test('every command calls operations that exist', async (t) => {
  const unknown = [...covered.entries()].filter(([id]) => !spec.byId.has(id)).map(([id, cmds]) => `${cmds.join(', ')} → ${id}`);
  t.same(unknown, [], 'commands naming operations the spec lacks');
});
