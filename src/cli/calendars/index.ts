/** `smartsupport calendars list|show|create|update|delete` — business-hours calendars for SLA policies. */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { confirmOrStop, defineVerb, withJson, withPaging, withYes } from '../command.js';
import { usageError } from '../errors.js';
import type { Factory } from '../factory.js';
import { fetchList, hintMore, type ListFlags } from '../output/list.js';
import { print, type Column } from '../output/print.js';

const hoursText = (v: unknown) =>
  Object.entries((v ?? {}) as Record<string, { from: string; to: string }[]>)
    .filter(([, ivs]) => ivs.length)
    .map(([d, ivs]) => `${d.slice(0, 3)} ${ivs.map((i) => `${i.from}-${i.to}`).join(',')}`)
    .join('; ');
const holidaysText = (v: unknown) => ((v ?? []) as { date: string; recurring?: boolean }[]).map((h) => (h.recurring ? `${h.date.slice(5)} yearly` : h.date)).join(', ');

export const CALENDAR_COLUMNS: Column[] = [{ key: 'id' }, { key: 'name' }, { key: 'time_zone', header: 'zone' }, { key: 'is_default', header: 'default' }, { key: 'hours', format: hoursText }, { key: 'holidays', format: holidaysText }];

export function idArg(id: string, what = 'id'): string {
  if (!/^\d{1,15}$/.test(id)) throw usageError(`not a ${what}: ${id}`);
  return id;
}

const DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
const SHORT: Record<string, string> = { mon: 'monday', tue: 'tuesday', wed: 'wednesday', thu: 'thursday', fri: 'friday', sat: 'saturday', sun: 'sunday' };

/** `--hours "mon-fri 09:00-12:00,13:00-17:00"` (repeatable; day ranges like mon-fri) → the hours object. */
export function parseHours(specs: string[]): Record<string, { from: string; to: string }[]> {
  const out: Record<string, { from: string; to: string }[]> = {};
  for (const spec of specs) {
    const m = /^([a-z]{3})(?:-([a-z]{3}))?\s+(.+)$/i.exec(spec.trim());
    const a = m && SHORT[m[1]!.toLowerCase()];
    const b = m && SHORT[(m[2] ?? m[1]!).toLowerCase()];
    if (!m || !a || !b) throw usageError(`--hours "${spec}": use e.g. "mon-fri 09:00-17:00" or "sat 10:00-14:00,15:00-16:00"`);
    const intervals = m[3]!.split(',').map((iv) => {
      const p = /^(\d{2}:\d{2})-(\d{2}:\d{2})$/.exec(iv.trim());
      if (!p) throw usageError(`--hours "${spec}": "${iv}" is not HH:MM-HH:MM`);
      return { from: p[1]!, to: p[2]! };
    });
    for (let i = DAYS.indexOf(a); i <= DAYS.indexOf(b); i++) out[DAYS[i]!] = [...(out[DAYS[i]!] ?? []), ...intervals];
  }
  return out;
}

/** `--holiday 2026-12-25` or `--holiday 2026-12-25:yearly` (repeatable). */
export function parseHolidays(specs: string[]): { date: string; recurring: boolean }[] {
  return specs.map((s) => {
    const m = /^(\d{4}-\d{2}-\d{2})(:yearly)?$/.exec(s.trim());
    if (!m) throw usageError(`--holiday "${s}": use YYYY-MM-DD or YYYY-MM-DD:yearly`);
    return { date: m[1]!, recurring: Boolean(m[2]) };
  });
}

const collect = (v: string, acc: string[] = []) => [...acc, v];

async function bodyFrom(o: { name?: string; zone?: string; hours?: string[]; holiday?: string[]; noHolidays?: boolean; holidays?: boolean; default?: boolean; file?: string }) {
  const body: Record<string, unknown> = o.file ? JSON.parse(await readFile(o.file, 'utf8')) : {};
  if (o.name !== undefined) body.name = o.name;
  if (o.zone !== undefined) body.time_zone = o.zone;
  if (o.hours) body.hours = parseHours(o.hours);
  if (o.holiday) body.holidays = parseHolidays(o.holiday);
  else if (o.holidays === false) body.holidays = [];
  if (o.default !== undefined) body.is_default = o.default;
  return body;
}

const withCalendarFlags = (c: Command) =>
  c
    .option('--name <name>', 'calendar name')
    .option('--zone <iana>', 'IANA time zone, e.g. Europe/London')
    .option('--hours <spec>', 'opening hours, e.g. "mon-fri 09:00-17:00" (repeatable)', collect)
    .option('--holiday <date>', 'YYYY-MM-DD, or YYYY-MM-DD:yearly (repeatable; replaces the list)', collect)
    .option('--file <json>', 'read the calendar (SlaCalendarCreate) from a JSON file; flags override it');

export function register(noun: Command, factory: () => Factory): void {
  withPaging(withJson(defineVerb(noun, 'list', 'listSlaCalendars', 'list business-hours calendars (staff)'))).action(async (o: ListFlags & { json?: boolean | string }) => {
    const f = factory();
    const page = await fetchList(f, '/api/sla/calendars/', {}, o);
    await print(f, page.data, { json: o.json, columns: CALENDAR_COLUMNS });
    hintMore(f, page, o);
  });
  withJson(defineVerb(noun, 'show', 'getSlaCalendar', 'show one calendar (staff)'))
    .argument('<id>', 'calendar id')
    .action(async (id: string, o: { json?: boolean | string }) => {
      const f = factory();
      const { data } = await f.client().call('get', '/api/sla/calendars/{id}/', { path: { id: idArg(id, 'calendar id') } });
      await print(f, data, { json: o.json, columns: CALENDAR_COLUMNS });
    });
  withCalendarFlags(withJson(defineVerb(noun, 'create', 'createSlaCalendar', 'create a calendar (System Admin)')))
    .option('--default', 'make it the default calendar')
    .action(async (o) => {
      const f = factory();
      const body = await bodyFrom(o);
      if (!body.name || !body.time_zone || !body.hours) throw usageError('calendars create needs --name, --zone and --hours (or --file)');
      const { data } = await f.client().call('post', '/api/sla/calendars/', { body: body as never });
      await print(f, data, { json: o.json, columns: CALENDAR_COLUMNS });
    });
  withCalendarFlags(withJson(defineVerb(noun, 'update', 'updateSlaCalendar', 'change a calendar (System Admin)')))
    .argument('<id>', 'calendar id')
    .option('--default', 'make it the default calendar')
    .option('--no-holidays', 'remove every holiday')
    .action(async (id: string, o) => {
      const f = factory();
      const body = await bodyFrom(o);
      if (!Object.keys(body).length) throw usageError('nothing to change: pass --name, --zone, --hours, --holiday, --no-holidays, --default or --file');
      const { data } = await f.client().call('patch', '/api/sla/calendars/{id}/', { path: { id: idArg(id, 'calendar id') }, body: body as never });
      await print(f, data, { json: o.json, columns: CALENDAR_COLUMNS });
    });
  withYes(withJson(defineVerb(noun, 'delete', 'deleteSlaCalendar', 'delete a calendar no policy uses (System Admin; asks first, --yes to skip)')))
    .argument('<id>', 'calendar id')
    .action(async (id: string, o: { yes?: boolean; json?: boolean | string }) => {
      const f = factory();
      idArg(id, 'calendar id');
      await confirmOrStop(f, o.yes, `Delete calendar ${id}?`);
      await f.client().call('delete', '/api/sla/calendars/{id}/', { path: { id } });
      if (o.json !== undefined) f.out(JSON.stringify({ deleted: Number(id) }, null, 2));
      else f.err(`deleted calendar ${id}`);
    });
}
