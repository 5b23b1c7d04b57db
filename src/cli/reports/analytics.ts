/** The analytics verbs of `smartsupport reports` (issue 20): API series → ReportView → charts/table/CSV/SVG. */
import { InvalidArgumentError, type Command } from 'commander';
import type { ReportView, Section, Table } from '../output/charts.js';
import { defineVerb, withJson } from '../command.js';
import type { Factory } from '../factory.js';

export interface ReportFlags {
  since?: string;
  until?: string;
  interval?: 'day' | 'week';
  by?: string;
  category?: string;
  department?: string;
  priority?: string;
  assignee?: string;
  json?: boolean | string;
  csv?: boolean;
  svg?: string;
  width?: number;
}

const DAY = 86_400_000;

/** `30d`, `12w`, `6m` (30-day months) back from now, or a date / date-time as given. */
export function parseWhen(v: string, now = new Date()): string {
  const rel = /^(\d{1,4})([dwm])$/.exec(v.trim());
  if (rel) {
    const n = Number(rel[1]) * (rel[2] === 'd' ? 1 : rel[2] === 'w' ? 7 : 30);
    return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) - (n - 1) * DAY).toISOString().slice(0, 10);
  }
  if (/^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v.trim()) && !Number.isNaN(new Date(v.trim()).getTime())) return v.trim();
  throw new InvalidArgumentError('use a date (2026-11-01), a date-time, or a span back from today (30d, 12w, 6m)');
}

const choice = (values: string[]) => (v: string) => {
  if (!values.includes(v)) throw new InvalidArgumentError(`one of: ${values.join(', ')}`);
  return v;
};

function withPeriod(c: Command, opts: { interval?: boolean; by?: boolean; filters?: boolean } = {}): Command {
  c.option('--since <when>', 'start: a date, a date-time, or 30d / 12w / 6m back (default 30d)', (v) => parseWhen(v)).option('--until <when>', 'end, exclusive (default now)', (v) => parseWhen(v));
  if (opts.interval !== false) c.option('--interval <day|week>', 'bucket size', choice(['day', 'week']));
  if (opts.by) c.option('--by <field>', 'group by: none, category, department, priority, status, assignee', choice(['none', 'category', 'department', 'priority', 'status', 'assignee']));
  if (opts.filters !== false) {
    c.option('--category <name>', 'only this category')
      .option('--department <name>', 'only this department')
      .option('--priority <level>', 'only this priority')
      .option('--assignee <id>', 'only tickets assigned to this person (id or company id)');
  }
  return withJson(c)
    .option('--csv', 'print the table as CSV')
    .option('--svg <file>', 'also write the chart as an SVG image to FILE')
    .option('--width <columns>', 'chart width (default: the terminal width)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 40 || n > 400) throw new InvalidArgumentError('an integer from 40 to 400');
      return n;
    });
}

function queryOf(o: ReportFlags, keys: ('interval' | 'by' | 'filters')[]): Record<string, string> {
  const q: Record<string, string> = {};
  if (o.since) q.since = o.since;
  if (o.until) q.until = o.until;
  if (keys.includes('interval') && o.interval) q.interval = o.interval;
  if (keys.includes('by') && o.by) q.by = o.by;
  if (keys.includes('filters')) {
    if (o.category) q.category = o.category;
    if (o.department) q.department = o.department;
    if (o.priority) q.priority = o.priority;
    if (o.assignee) q.assigned_to = o.assignee;
  }
  return q;
}

const period = (d: { since: string; until: string }) => `${d.since.slice(0, 10)} → ${d.until.slice(0, 16).replace('T', ' ')} UTC`;
const filterNote = (o: ReportFlags) =>
  [o.category && `category ${o.category}`, o.department && o.department, o.priority && `priority ${o.priority}`, o.assignee && `assignee ${o.assignee}`].filter(Boolean).join(', ');
const subtitle = (d: { since: string; until: string }, o: ReportFlags, extra?: string) => [period(d), filterNote(o), extra].filter(Boolean).join(' · ');
const pct = (r: number | null) => (r === null ? '–' : `${Math.round(r * 1000) / 10}%`);

// ─── views (pure: API data → ReportView) ──────────────────────────────────────

export interface VolumeData { since: string; until: string; interval: string; by: string; buckets: string[]; series: { key: string; values: number[]; total: number }[]; total: number }
export function volumeView(d: VolumeData, o: ReportFlags = {}): ReportView {
  const sections: Section[] = [{ kind: 'series', title: `Tickets per ${d.interval}`, buckets: d.buckets, series: d.series.map((s) => ({ key: s.key, values: s.values })) }];
  if (d.by !== 'none') sections.push({ kind: 'bars', title: `Total by ${d.by}`, items: d.series.map((s) => ({ label: s.key, value: s.total })) });
  const table: Table = { columns: [d.interval, ...d.series.map((s) => s.key), 'total'], rows: d.buckets.map((b, i) => [b, ...d.series.map((s) => s.values[i] ?? 0), d.series.reduce((a, s) => a + (s.values[i] ?? 0), 0)]) };
  return { title: 'Ticket volume', subtitle: subtitle(d, o, `${d.total} tickets`), sections, table };
}

export interface BacklogData { since: string; until: string; interval: string; buckets: string[]; values: number[]; open_now: number }
export function backlogView(d: BacklogData, o: ReportFlags = {}): ReportView {
  const first = d.values[0] ?? 0;
  const last = d.values[d.values.length - 1] ?? 0;
  return {
    title: 'Backlog (open tickets)',
    subtitle: subtitle(d, o),
    sections: [
      { kind: 'series', title: `Open at the end of each ${d.interval}`, buckets: d.buckets, series: [{ key: 'open', values: d.values, total: `${first} → ${last}` }] },
      { kind: 'figures', title: 'Summary', items: [{ label: 'start', value: String(first) }, { label: 'end', value: String(last) }, { label: 'change', value: `${last - first >= 0 ? '+' : ''}${last - first}` }, { label: 'open now', value: String(d.open_now) }] },
    ],
    table: { columns: [d.interval, 'open'], rows: d.buckets.map((b, i) => [b, d.values[i] ?? 0]) },
  };
}

type Dist = { count: number; p50: number | null; p90: number | null };
type Figures = { first_response: Dist; resolution: Dist; resolved: number; reopened: number; reopen_rate: number | null };
export interface TimesData { since: string; until: string; by: string; overall: Figures; groups: (Figures & { key: string })[]; histograms: { first_response: { label: string; count: number }[]; resolution: { label: string; count: number }[] } }
export async function timesView(d: TimesData, o: ReportFlags = {}): Promise<ReportView> {
  const { formatDuration } = await import('../output/charts.js');
  const rows = [...(d.by === 'none' ? [] : d.groups), { key: 'all', ...d.overall }];
  const dur = (c: unknown) => formatDuration(typeof c === 'number' ? c : null);
  const sections: Section[] = [
    { kind: 'histogram', title: `First response (${d.overall.first_response.count} tickets approved)`, items: d.histograms.first_response.map((h) => ({ label: h.label, value: h.count })) },
    { kind: 'histogram', title: `Resolution (${d.overall.resolution.count} tickets resolved)`, items: d.histograms.resolution.map((h) => ({ label: h.label, value: h.count })) },
    {
      kind: 'figures',
      title: 'Overall',
      items: [
        { label: 'first response p50 / p90', value: `${dur(d.overall.first_response.p50)} / ${dur(d.overall.first_response.p90)}` },
        { label: 'resolution p50 / p90', value: `${dur(d.overall.resolution.p50)} / ${dur(d.overall.resolution.p90)}` },
        { label: 'reopen rate', value: `${pct(d.overall.reopen_rate)} (${d.overall.reopened} of ${d.overall.resolved})` },
      ],
    },
  ];
  if (d.by !== 'none') sections.push({ kind: 'bars', title: `Resolution p50 by ${d.by}`, items: d.groups.map((g) => ({ label: g.key, value: g.resolution.p50 ?? 0, display: dur(g.resolution.p50) })) });
  const table: Table = {
    columns: [d.by === 'none' ? 'group' : d.by, 'approved', 'first_response_p50', 'first_response_p90', 'resolved', 'resolution_p50', 'resolution_p90', 'reopened', 'reopen_rate'],
    rows: rows.map((r) => [r.key, r.first_response.count, r.first_response.p50, r.first_response.p90, r.resolution.count, r.resolution.p50, r.resolution.p90, r.reopened, r.reopen_rate]),
    display: { 2: dur, 3: dur, 5: dur, 6: dur, 8: (c) => pct(typeof c === 'number' ? c : null) },
  };
  return { title: 'Response and resolution times', subtitle: subtitle(d, o), sections, table };
}

export interface WorkloadData { since: string; until: string; data: { assignee: { id: number; company_id: string; name: string } | null; open: number; resolved: number; resolution_p50: number | null }[] }
export async function workloadView(d: WorkloadData, o: ReportFlags = {}): Promise<ReportView> {
  const { formatDuration } = await import('../output/charts.js');
  const who = (a: WorkloadData['data'][number]['assignee']) => (a ? `${a.company_id} ${a.name}` : '(unassigned)');
  return {
    title: 'Workload per assignee',
    subtitle: subtitle(d, o, 'open now; resolved in the period'),
    sections: [
      { kind: 'bars', title: 'Open tickets', items: d.data.map((r) => ({ label: who(r.assignee), value: r.open })) },
      { kind: 'bars', title: 'Resolved in the period', items: d.data.map((r) => ({ label: who(r.assignee), value: r.resolved })) },
    ],
    table: {
      columns: ['assignee', 'open', 'resolved', 'resolution_p50'],
      rows: d.data.map((r) => [who(r.assignee), r.open, r.resolved, r.resolution_p50]),
      display: { 3: (c) => formatDuration(typeof c === 'number' ? c : null) },
    },
  };
}

export interface ChatData {
  since: string; until: string; interval: string; buckets: string[]; conversations: number[]; questions: number[];
  totals: { conversations: number; questions: number; escalated: number; escalation_rate: number | null };
  answers: { model: number; faq_search: number; no_match: number; total: number; model_failovers: number };
  unanswered: { question: string; count: number; examples: string[]; last_asked: string; faq_command: string }[];
}
export function chatView(d: ChatData, o: ReportFlags = {}): ReportView {
  return {
    title: 'Chat assistant',
    subtitle: subtitle(d, o, `${d.totals.conversations} conversations, ${d.totals.questions} questions`),
    sections: [
      { kind: 'series', title: `Per ${d.interval}`, buckets: d.buckets, series: [{ key: 'conversations', values: d.conversations }, { key: 'questions', values: d.questions }] },
      { kind: 'bars', title: 'How answers were produced', items: [{ label: 'model', value: d.answers.model }, { label: 'FAQ search', value: d.answers.faq_search }, { label: 'no match', value: d.answers.no_match }] },
      {
        kind: 'figures',
        title: 'Escalation and failover',
        items: [
          { label: 'escalated to tickets', value: `${d.totals.escalated} (${pct(d.totals.escalation_rate)})` },
          { label: 'model failed over to FAQ search', value: String(d.answers.model_failovers) },
        ],
      },
      { kind: 'bars', title: 'Questions the FAQ did not answer (grouped)', items: d.unanswered.slice(0, 10).map((u) => ({ label: u.question, value: u.count })) },
    ],
    table: { columns: ['count', 'question', 'last_asked', 'draft an FAQ'], rows: d.unanswered.map((u) => [u.count, u.question, u.last_asked.slice(0, 10), u.faq_command]) },
  };
}

// ─── verbs ───────────────────────────────────────────────────────────────────

async function show(f: Factory, o: ReportFlags, data: unknown, view: ReportView | Promise<ReportView>): Promise<void> {
  const { renderReport } = await import('../output/charts.js');
  await renderReport(f, data, await view, { json: o.json, csv: o.csv, svg: o.svg, width: o.width });
}

export function registerAnalytics(noun: Command, factory: () => Factory): void {
  withPeriod(defineVerb(noun, 'volume', 'getTicketVolumeReport', 'tickets submitted per day or week, by category/department/priority/status/assignee'), { by: true }).action(async (o: ReportFlags) => {
    const f = factory();
    const { data } = await f.client().call('get', '/api/reports/tickets/volume/', { query: queryOf(o, ['interval', 'by', 'filters']) });
    await show(f, o, data, volumeView(data as VolumeData, o));
  });
  withPeriod(defineVerb(noun, 'backlog', 'getTicketBacklogReport', 'open tickets over time')).action(async (o: ReportFlags) => {
    const f = factory();
    const { data } = await f.client().call('get', '/api/reports/tickets/backlog/', { query: queryOf(o, ['interval', 'filters']) });
    await show(f, o, data, backlogView(data as BacklogData, o));
  });
  withPeriod(defineVerb(noun, 'times', 'getTicketTimesReport', 'first-response and resolution times (p50/p90, histograms) and the reopen rate'), { interval: false, by: true }).action(async (o: ReportFlags) => {
    const f = factory();
    const { data } = await f.client().call('get', '/api/reports/tickets/times/', { query: queryOf(o, ['by', 'filters']) });
    await show(f, o, data, timesView(data as TimesData, o));
  });
  withPeriod(defineVerb(noun, 'workload', 'getTicketWorkloadReport', 'per-assignee workload: open now, resolved in the period'), { interval: false }).action(async (o: ReportFlags) => {
    const f = factory();
    const { data } = await f.client().call('get', '/api/reports/tickets/workload/', { query: queryOf(o, ['filters']) });
    await show(f, o, data, workloadView(data as WorkloadData, o));
  });
  withPeriod(defineVerb(noun, 'chat', 'getChatReport', 'chat assistant usage, answer sources, escalations and unanswered questions (System Admin)'), { filters: false }).action(async (o: ReportFlags) => {
    const f = factory();
    const { data } = await f.client().call('get', '/api/reports/chat/', { query: queryOf(o, ['interval']) });
    await show(f, o, data, chatView(data as ChatData, o));
  });
}
