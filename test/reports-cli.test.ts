/**
 * Report output: the chart renderer as text at a fixed width (snapshot), and `smartsupport reports …`
 * against a real app — charts with colour on a terminal, a plain table when piped, --csv, --json,
 * --svg (parsed as XML by a real browser's DOMParser), and `faqs create --from-question`.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import t from 'tap';
import { barChart, csv, renderCharts, sparkline, toSvg, type ReportView } from '../src/cli/output/charts.js';
import { run } from '../src/cli/main.js';
import { signedIn, startTestApp } from './helpers/harness.js';

const tmp = await mkdtemp(path.join(os.tmpdir(), 'ss-reports-cli-'));
process.env.XDG_CONFIG_HOME = tmp;

const DAYS = ['2026-10-05', '2026-10-06', '2026-10-07', '2026-10-08', '2026-10-09', '2026-10-10', '2026-10-11'];
const VIEW: ReportView = {
  title: 'Ticket volume',
  subtitle: '2026-10-05 → 2026-10-12 UTC',
  sections: [
    { kind: 'series', title: 'Tickets per day', buckets: DAYS, series: [{ key: 'Hardware', values: [2, 0, 0, 0, 0, 0, 0] }, { key: 'Network', values: [0, 1, 0, 0, 1, 0, 0] }, { key: 'Software', values: [0, 0, 1, 0, 0, 0, 0] }] },
    { kind: 'bars', title: 'Total by category', items: [{ label: 'Hardware', value: 2 }, { label: 'Network', value: 2 }, { label: 'Software', value: 1 }] },
    { kind: 'histogram', title: 'Resolution', items: [{ label: '<15m', value: 0 }, { label: '15m–1h', value: 3 }, { label: '1h–4h', value: 8 }, { label: '≥1w', value: 1 }] },
    { kind: 'figures', title: 'Summary', items: [{ label: 'start', value: '3' }, { label: 'open now', value: '5' }] },
  ],
  table: { columns: ['day', 'Hardware', 'Network'], rows: [['2026-10-05', 2, 0], ['2026-10-06', 0, 1]] },
};

t.test('charts as text at 60 columns (snapshot)', async (t) => {
  t.equal(
    renderCharts(VIEW, 60),
    [
      'Ticket volume',
      '2026-10-05 → 2026-10-12 UTC',
      '',
      'Tickets per day',
      '  Hardware █▁▁▁▁▁▁ 2',
      '  Network  ▁█▁▁█▁▁ 2',
      '  Software ▁▁█▁▁▁▁ 1',
      '           2026-10-05 → 2026-10-11',
      '',
      'Total by category',
      '  Hardware │██████████████████████████████████████████████ 2',
      '  Network  │██████████████████████████████████████████████ 2',
      '  Software │███████████████████████                        1',
      '',
      'Resolution',
      '  <15m   │                                                 0',
      '  15m–1h │██████████████████                               3',
      '  1h–4h  │████████████████████████████████████████████████ 8',
      '  ≥1w    │██████                                           1',
      '',
      'Summary',
      '  start     3',
      '  open now  5',
    ].join('\n'),
  );
  t.equal(sparkline([0, 1, 2, 3, 4, 5, 6, 7, 14]), '▁▂▂▃▃▄▄▅█');
  t.equal(sparkline([0, 0, 0]), '▁▁▁', 'all zero: flat');
  t.same(barChart([{ label: 'a', value: 1 }, { label: 'b', value: 8 }], 40), ['  a │████▏                             1', '  b │█████████████████████████████████ 8'], 'eighths of a cell');
  // 90 daily buckets in 40 columns: neighbours are summed and the axis says how many per mark
  const long = renderCharts({ title: 'x', sections: [{ kind: 'series', title: 's', buckets: Array.from({ length: 90 }, (_, i) => `d${i}`), series: [{ key: 'k', values: Array.from({ length: 90 }, (_, i) => (i < 45 ? 0 : 1)) }] }], table: { columns: [], rows: [] } }, 40).split('\n');
  t.equal(long[3], '  k ▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁███████████████ 45');
  t.match(long[4], /\(3 per mark\)$/);
  t.equal(csv({ columns: ['a', 'b'], rows: [['x,y', 1], ['say "hi"', null]] }), 'a,b\r\n"x,y",1\r\n"say ""hi""",\r\n', 'RFC 4180 quoting');
});

// ─── through the CLI ─────────────────────────────────────────────────────────

const ta = await startTestApp(t);
const coord = await signedIn(ta, { role: 'Ticket Coordinator' });
const admin = await signedIn(ta, { role: 'System Admin' });
const emp = await signedIn(ta, { role: 'Employee' });
const ticket = (day: string, category: string) =>
  ta.db('tickets').insert({ employee_id: emp.user.id, subject: 's', category, sub_category: 'x', description: 'd', submit_date: new Date(`${day}T09:00:00Z`) });
await ticket('2026-10-05', 'Hardware');
await ticket('2026-10-05', 'Hardware');
await ticket('2026-10-06', 'Network <&> "LAN"');
await ticket('2026-10-09', 'Network <&> "LAN"');
await ticket('2026-10-07', 'Software');

async function cli(token: string, args: string[], opts: { tty?: boolean; color?: boolean; columns?: number } = {}) {
  const stdout = Object.assign(new PassThrough(), { isTTY: opts.tty ?? false, columns: opts.columns ?? 60 });
  const stderr = Object.assign(new PassThrough(), { isTTY: false });
  const stdin = Object.assign(new PassThrough(), { isTTY: opts.tty ?? false });
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const env: NodeJS.ProcessEnv = { SMARTSUPPORT_URL: ta.url, SMARTSUPPORT_TOKEN: token };
  if (!opts.color) env.NO_COLOR = '1';
  const code = await run(['node', 'smartsupport', ...args], { io: { stdin, stdout, stderr, env } });
  return { code, out, err };
}
const VOLUME = ['reports', 'volume', '--since', '2026-10-05', '--until', '2026-10-12', '--by', 'category'];

t.test('piped: a plain tab-separated table, no charts, no colour', async (t) => {
  const r = await cli(coord.token, VOLUME, { color: true });
  t.equal(r.code, 0, r.err);
  t.equal(
    r.out,
    [
      'day\tHardware\tNetwork <&> "LAN"\tSoftware\ttotal',
      '2026-10-05\t2\t0\t0\t2',
      '2026-10-06\t0\t1\t0\t1',
      '2026-10-07\t0\t0\t1\t1',
      '2026-10-08\t0\t0\t0\t0',
      '2026-10-09\t0\t1\t0\t1',
      '2026-10-10\t0\t0\t0\t0',
      '2026-10-11\t0\t0\t0\t0',
      '',
    ].join('\n'),
  );
  t.notMatch(r.out, /\u001b\[/, 'no escape codes when piped');
});

t.test('--csv and --json', async (t) => {
  const c = await cli(coord.token, [...VOLUME, '--csv']);
  t.equal(c.out.split('\r\n')[0], 'day,Hardware,"Network <&> ""LAN""",Software,total');
  t.equal(c.out.split('\r\n')[1], '2026-10-05,2,0,0,2');
  const j = await cli(coord.token, [...VOLUME, '--json']);
  const api = await ta.api.get('/api/reports/tickets/volume/', { token: coord.token, query: { since: '2026-10-05', until: '2026-10-12', by: 'category' } });
  t.same(JSON.parse(j.out), api.body, '--json prints the API series');
});

t.test('terminal: charts then the table; colour unless NO_COLOR', async (t) => {
  const plain = await cli(coord.token, VOLUME, { tty: true, columns: 60 });
  t.equal(plain.code, 0, plain.err);
  const lines = plain.out.split('\n');
  t.equal(lines[0], 'Ticket volume');
  t.ok(lines.some((l) => /^ {2}Hardware +█▁▁▁▁▁▁ 2$/.test(l)), 'Hardware sparkline');
  t.ok(lines.some((l) => /^ {2}Network <&> "LAN" │█+ +2$/.test(l)), 'a bar per category');
  t.ok(lines.some((l) => /^day +Hardware +Network <&> "LAN" +Software +total$/.test(l)), 'the table follows');
  t.notMatch(plain.out, /\u001b\[/, 'NO_COLOR');
  const colour = await cli(coord.token, VOLUME, { tty: true, color: true });
  t.match(colour.out, /\u001b\[36m█/, 'bars in colour on a terminal');
});

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

t.test('--svg writes an SVG image that parses as XML and carries the labels', async (t) => {
  const file = path.join(tmp, 'volume.svg');
  const r = await cli(coord.token, [...VOLUME, '--svg', file]);
  t.equal(r.code, 0, r.err);
  t.match(r.err, `wrote ${file}`);
  t.match(r.out, /^day\t/, 'the table is still printed');
  const svg = await readFile(file, 'utf8');
  t.match(svg, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  t.ok(svg.includes('Network &lt;&amp;&gt; &quot;LAN&quot; (2)'), 'labels escaped for XML');
  const bars = toSvg({ title: 'T', sections: [{ kind: 'bars', title: 'b', items: [{ label: 'A & B', value: 3 }] }], table: { columns: [], rows: [] } });
  if (!existsSync(CHROMIUM)) {
    const reason = `Chromium not found at ${CHROMIUM} (apt-get install -y chromium, as .ci/run does)`;
    if (process.env.CI === 'true' || process.env.SS_REQUIRE_CHROMIUM === '1') t.fail(reason);
    else t.skip(reason, () => {});
    return;
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const parse = (doc: string) =>
    page.evaluate((text) => {
      type El = { textContent: string | null; nodeName: string };
      type Doc = { getElementsByTagName(n: string): ArrayLike<El> & Iterable<El>; documentElement: El };
      const Parser = (globalThis as unknown as { DOMParser: new () => { parseFromString(s: string, type: string): Doc } }).DOMParser;
      const d = new Parser().parseFromString(text, 'image/svg+xml');
      const err = d.getElementsByTagName('parsererror')[0];
      return { error: err ? err.textContent : null, root: d.documentElement.nodeName, texts: [...d.getElementsByTagName('text')].map((e) => e.textContent), lines: d.getElementsByTagName('polyline').length };
    }, doc);
  const parsed = await parse(svg);
  t.equal(parsed.error, null, 'well-formed XML');
  t.equal(parsed.root, 'svg');
  t.equal(parsed.lines, 3, 'one line per series');
  for (const label of ['Hardware (2)', 'Network <&> "LAN" (2)', 'Software (1)', '2026-10-05', '2026-10-11']) t.ok(parsed.texts.includes(label), `label ${label}`);
  const b = await parse(bars);
  t.equal(b.error, null);
  t.ok(b.texts.includes('A & B') && b.texts.includes('3'), 'bar label and value');
  t.not((await parse(svg.replace('</svg>', ''))).error, null, 'the check does catch broken XML');
});

t.test('other reports render; employees are refused with exit 3', async (t) => {
  for (const verb of ['backlog', 'times', 'workload']) {
    const r = await cli(coord.token, ['reports', verb, '--since', '2026-10-05', '--until', '2026-10-12'], { tty: true });
    t.equal(r.code, 0, `${verb}: ${r.err}`);
  }
  const backlog = await cli(coord.token, ['reports', 'backlog', '--since', '2026-10-05', '--until', '2026-10-08']);
  t.equal(backlog.out, 'day\topen\n2026-10-05\t2\n2026-10-06\t3\n2026-10-07\t4\n', 'five New tickets, never closed: 2, 3, 4 by day');
  const times = await cli(coord.token, ['reports', 'times', '--json', '--since', '30d']);
  t.equal(times.code, 0, times.err);
  t.equal((await cli(emp.token, VOLUME)).code, 3);
  t.equal((await cli(coord.token, ['reports', 'volume', '--since', 'last tuesday'])).code, 2, 'bad --since is a usage error');
});

t.test('reports chat lists the unanswered questions with a command that drafts an FAQ', async (t) => {
  const [c] = await ta.db('chat_conversations').insert({ employee_id: emp.user.id }).returning('id');
  for (let i = 0; i < 2; i++) {
    await ta.db('chat_messages').insert({ conversation_id: c.id, role: 'user', content: "Who's the printer admin?" });
    await ta.db('chat_messages').insert({ conversation_id: c.id, role: 'assistant', content: 'no match', provider: 'faq', sources: [] });
  }
  const r = await cli(admin.token, ['reports', 'chat']);
  t.equal(r.code, 0, r.err);
  const [, row] = r.out.trim().split('\n');
  const [count, question, , command] = row!.split('\t');
  t.same([count, question], ['2', "Who's the printer admin?"]);
  t.equal(command, `smartsupport faqs create --from-question 'Who'\\''s the printer admin?'`);
  // run the printed command (its argument as a shell would pass it)
  const made = await cli(admin.token, ['faqs', 'create', '--from-question', "Who's the printer admin?", '--answer', 'Ask IT on floor 2.', '--json']);
  t.equal(made.code, 0, made.err);
  const faq = JSON.parse(made.out);
  t.same([faq.question, faq.answer, faq.tags], ["Who's the printer admin?", 'Ask IT on floor 2.', ['from-chat']]);
  t.equal((await cli(admin.token, ['faqs', 'create', '--from-question', 'x'])).code, 2, 'no answer and no terminal: usage error');
  t.equal((await cli(coord.token, ['reports', 'chat'])).code, 3, 'chat analytics: System Admin only');
});
