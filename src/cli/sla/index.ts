/** `smartsupport sla list|show|create|update|delete` — SLA policies (changes: System Admin). */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { confirmOrStop, defineVerb, withJson, withPaging, withYes } from '../command.js';
import { usageError } from '../errors.js';
import type { Factory } from '../factory.js';
import { idArg } from '../calendars/index.js';
import { fetchList, hintMore, type ListFlags } from '../output/list.js';
import { print, type Column } from '../output/print.js';

const list = (v: unknown) => ((v ?? []) as string[]).join(',');
export const POLICY_COLUMNS: Column[] = [
  { key: 'id' },
  { key: 'position', header: 'pos' },
  { key: 'name' },
  { key: 'conditions', format: (v) => Object.entries((v ?? {}) as Record<string, string[]>).filter(([, l]) => l.length).map(([k, l]) => `${k}=${l.join('|')}`).join(' ') || 'any ticket' },
  { key: 'targets', header: 'first/next/resolution (min)', format: (v) => { const t = v as Record<string, number | null>; return [t.first_response_minutes, t.next_response_minutes, t.resolution_minutes].map((x) => x ?? '-').join('/'); } },
  { key: 'calendar_id', header: 'calendar', format: (v) => (v === null ? '24/7' : String(v)) },
  { key: 'pause_statuses', header: 'pauses', format: list },
];

const collect = (v: string, acc: string[] = []) => [...acc, ...v.split(',').map((s) => s.trim()).filter(Boolean)];
const minutes = (v: string) => {
  if (v === '' || v === 'none') return null;
  if (!/^\d{1,7}$/.test(v)) throw usageError(`not a number of minutes: ${v}`);
  return Number(v);
};

type Flags = { name?: string; position?: string; priority?: string[]; category?: string[]; department?: string[]; firstResponse?: number | null; nextResponse?: number | null; resolution?: number | null; calendar?: string; pause?: string[]; raisePriority?: boolean; assignTo?: string; file?: string; json?: boolean | string };

async function bodyFrom(o: Flags): Promise<Record<string, unknown>> {
  const body: Record<string, unknown> = o.file ? JSON.parse(await readFile(o.file, 'utf8')) : {};
  if (o.name !== undefined) body.name = o.name;
  if (o.position !== undefined) body.position = Number(idArg(o.position, 'position'));
  const conditions: Record<string, string[]> = { ...((body.conditions as Record<string, string[]>) ?? {}) };
  if (o.priority) conditions.priority = o.priority;
  if (o.category) conditions.category = o.category;
  if (o.department) conditions.department = o.department;
  if (o.priority || o.category || o.department) body.conditions = conditions;
  const targets: Record<string, number | null> = { ...((body.targets as Record<string, number | null>) ?? {}) };
  if (o.firstResponse !== undefined) targets.first_response_minutes = o.firstResponse;
  if (o.nextResponse !== undefined) targets.next_response_minutes = o.nextResponse;
  if (o.resolution !== undefined) targets.resolution_minutes = o.resolution;
  if (Object.keys(targets).length) body.targets = targets;
  if (o.calendar !== undefined) body.calendar_id = o.calendar === '24/7' || o.calendar === 'none' ? null : Number(idArg(o.calendar, 'calendar id'));
  if (o.pause) body.pause_statuses = o.pause;
  if (o.raisePriority !== undefined || o.assignTo !== undefined) body.escalation = { raise_priority: Boolean(o.raisePriority), assign_to: o.assignTo ? Number(idArg(o.assignTo, 'employee id')) : null };
  return body;
}

const withPolicyFlags = (c: Command) =>
  c
    .option('--name <name>', 'policy name')
    .option('--position <n>', 'matching order (lowest first)')
    .option('--priority <p>', 'condition: priorities (repeatable or comma-separated)', collect)
    .option('--category <c>', 'condition: categories (repeatable or comma-separated)', collect)
    .option('--department <d>', 'condition: departments (repeatable or comma-separated)', collect)
    .option('--first-response <minutes>', 'first-response target in business minutes ("none" removes it)', minutes)
    .option('--next-response <minutes>', 'next-response target in business minutes ("none" removes it)', minutes)
    .option('--resolution <minutes>', 'resolution target in business minutes ("none" removes it)', minutes)
    .option('--calendar <id>', 'calendar id, or 24/7 (default: the default calendar)')
    .option('--pause <status>', 'statuses that stop the clock: "On Hold", Pending (repeatable or comma-separated)', collect)
    .option('--raise-priority', 'on breach: raise the priority one step')
    .option('--assign-to <employee-id>', 'on breach: assign to this coordinator')
    .option('--file <json>', 'read the policy (SlaPolicyCreate) from a JSON file; flags override it');

export function register(noun: Command, factory: () => Factory): void {
  withPaging(withJson(defineVerb(noun, 'list', 'listSlaPolicies', 'list SLA policies in matching order (staff)'))).action(async (o: ListFlags & { json?: boolean | string }) => {
    const f = factory();
    const page = await fetchList(f, '/api/sla/policies/', {}, o);
    await print(f, page.data, { json: o.json, columns: POLICY_COLUMNS });
    hintMore(f, page, o);
  });
  withJson(defineVerb(noun, 'show', 'getSlaPolicy', 'show one SLA policy (staff)'))
    .argument('<id>', 'policy id')
    .action(async (id: string, o: { json?: boolean | string }) => {
      const f = factory();
      const { data } = await f.client().call('get', '/api/sla/policies/{id}/', { path: { id: idArg(id, 'policy id') } });
      await print(f, data, { json: o.json, columns: [...POLICY_COLUMNS, { key: 'escalation', format: (v) => JSON.stringify(v) }] });
    });
  withPolicyFlags(withJson(defineVerb(noun, 'create', 'createSlaPolicy', 'create an SLA policy (System Admin)'))).action(async (o: Flags) => {
    const f = factory();
    const body = await bodyFrom(o);
    if (!body.name || !body.targets) throw usageError('sla create needs --name and at least one of --first-response, --next-response, --resolution (or --file)');
    const { data } = await f.client().call('post', '/api/sla/policies/', { body: body as never });
    await print(f, data, { json: o.json, columns: POLICY_COLUMNS });
  });
  withPolicyFlags(withJson(defineVerb(noun, 'update', 'updateSlaPolicy', 'change an SLA policy (System Admin)')))
    .argument('<id>', 'policy id')
    .action(async (id: string, o: Flags) => {
      const f = factory();
      const body = await bodyFrom(o);
      if (!Object.keys(body).length) throw usageError('nothing to change');
      const { data } = await f.client().call('patch', '/api/sla/policies/{id}/', { path: { id: idArg(id, 'policy id') }, body: body as never });
      await print(f, data, { json: o.json, columns: POLICY_COLUMNS });
    });
  withYes(withJson(defineVerb(noun, 'delete', 'deleteSlaPolicy', 'delete an SLA policy; its tickets keep their copy (System Admin; asks first, --yes to skip)')))
    .argument('<id>', 'policy id')
    .action(async (id: string, o: { yes?: boolean; json?: boolean | string }) => {
      const f = factory();
      idArg(id, 'policy id');
      await confirmOrStop(f, o.yes, `Delete SLA policy ${id}?`);
      await f.client().call('delete', '/api/sla/policies/{id}/', { path: { id } });
      if (o.json !== undefined) f.out(JSON.stringify({ deleted: Number(id) }, null, 2));
      else f.err(`deleted SLA policy ${id}`);
    });
}
