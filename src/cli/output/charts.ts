/**
 * Reports people read at a glance: a small renderer of our own (no dependency) for terminal charts —
 * horizontal bars, sparklines for series, a histogram for time distributions — plus the same report
 * as a plain table (piped), CSV, and a standalone SVG image.
 *
 * A report command builds one `ReportView` (title, chart sections, a table) from the API's data and
 * calls `renderReport`; the output mode follows the flags and the terminal:
 *   --json      the API's data, untouched (for scripts)
 *   --csv       the table as RFC 4180 CSV
 *   TTY         title, charts (colour unless NO_COLOR), then the table
 *   piped       the table as tab-separated values, no charts, no colour
 *   --svg FILE  additionally writes the first chart as an SVG image (labels included)
 * Every function here except `renderReport` is pure, so charts are tested as text at a fixed width.
 */
import type { Factory } from '../factory.js';

export type Cell = string | number | null;

export interface Table {
  columns: string[];
  rows: Cell[][];
  /** how the terminal table shows a column's cells (e.g. seconds as "3h 20m"); CSV/TSV keep the raw value */
  display?: ({ [column: number]: (c: Cell) => string });
}

export interface BarItem {
  label: string;
  value: number;
  /** shown after the bar instead of the number (e.g. "2h 5m") */
  display?: string;
}

export type Section =
  | { kind: 'bars'; title: string; items: BarItem[] }
  /** a histogram: bars over ordered buckets (labels are bucket ranges) */
  | { kind: 'histogram'; title: string; items: BarItem[] }
  /** one sparkline per series over the same buckets */
  | { kind: 'series'; title: string; buckets: string[]; series: SeriesLine[] }
  /** a few figures on one line each */
  | { kind: 'figures'; title: string; items: { label: string; value: string }[] };

/** One line of a series chart; `total` replaces the sum shown after the line (e.g. a level's last value). */
export interface SeriesLine {
  key: string;
  values: number[];
  total?: string;
}

export interface ReportView {
  title: string;
  /** one line under the title (period, filters) */
  subtitle?: string;
  sections: Section[];
  table: Table;
}

export interface RenderOptions {
  json?: boolean | string;
  csv?: boolean;
  svg?: string;
  /** terminal width (default: the terminal's, else 80) */
  width?: number;
}

export interface Style {
  bar: (s: string) => string;
  dim: (s: string) => string;
  bold: (s: string) => string;
}

export const PLAIN: Style = { bar: (s) => s, dim: (s) => s, bold: (s) => s };

const SPARKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** Display width, counting each code point as one column (our glyphs are all single-width). */
const width = (s: string) => [...s].length;
const padEnd = (s: string, n: number) => s + ' '.repeat(Math.max(0, n - width(s)));
const padStart = (s: string, n: number) => ' '.repeat(Math.max(0, n - width(s))) + s;
function clip(s: string, n: number): string {
  const cs = [...s];
  return cs.length <= n ? s : cs.slice(0, Math.max(0, n - 1)).join('') + '…';
}

export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return '';
  return Number.isInteger(n) ? String(n) : n.toFixed(n < 10 ? 2 : 1).replace(/\.?0+$/, '');
}

/** Seconds as a short human duration: 45s, 12m, 3h 20m, 2d 4h. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.round(s / 60)}m`;
  if (s < 86400) {
    const h = Math.floor(s / 3600);
    const m = Math.round((s % 3600) / 60);
    return m ? `${h}h ${m}m` : `${h}h`;
  }
  const d = Math.floor(s / 86400);
  const h = Math.round((s % 86400) / 3600);
  return h ? `${d}d ${h}h` : `${d}d`;
}

/** ▁▂▃▄▅▆▇█ scaled from 0 to the series' maximum (all zeros: a flat ▁ line). */
export function sparkline(values: number[]): string {
  const max = Math.max(0, ...values);
  return values.map((v) => (max <= 0 || v <= 0 ? SPARKS[0] : SPARKS[Math.min(7, Math.round((v / max) * 7))])).join('');
}

/** A bar `cells` wide at most, in eighths of a cell, for `value` of `max`; a non-zero value shows at least ▏. */
export function bar(value: number, max: number, cells: number): string {
  if (max <= 0 || value <= 0 || cells <= 0) return '';
  const eighths = Math.max(1, Math.round((value / max) * cells * 8));
  return '█'.repeat(Math.floor(eighths / 8)) + EIGHTHS[eighths % 8];
}

/** Horizontal bars: `label │████▌ value`, fitted to `total` columns. */
export function barChart(items: BarItem[], total: number, style: Style = PLAIN): string[] {
  if (!items.length) return [style.dim('  (no data)')];
  const shown = items.map((i) => i.display ?? formatNumber(i.value));
  const labelW = Math.min(Math.max(...items.map((i) => width(i.label))), Math.max(8, Math.floor(total / 3)));
  const valueW = Math.max(...shown.map(width));
  const cells = Math.max(4, total - labelW - valueW - 5);
  const max = Math.max(...items.map((i) => i.value));
  return items.map((it, i) => {
    const b = bar(it.value, max, cells);
    return `  ${padEnd(clip(it.label, labelW), labelW)} │${style.bar(b)}${' '.repeat(cells - width(b))} ${padStart(shown[i]!, valueW)}`;
  });
}

/** One sparkline per series: `label ▁▃█▂ total`, first and last bucket under the lines. */
export function seriesChart(buckets: string[], series: SeriesLine[], total: number, style: Style = PLAIN): string[] {
  if (!series.length || !buckets.length) return [style.dim('  (no data)')];
  const totals = series.map((s) => s.total ?? formatNumber(s.values.reduce((a, b) => a + b, 0)));
  const labelW = Math.min(Math.max(...series.map((s) => width(s.key))), Math.max(8, Math.floor(total / 4)));
  const totalW = Math.max(...totals.map(width));
  // more buckets than room: sum neighbours so the line fits
  const room = Math.max(8, total - labelW - totalW - 5);
  const group = Math.max(1, Math.ceil(buckets.length / room));
  const squeeze = (vs: number[]) => {
    const out: number[] = [];
    for (let i = 0; i < vs.length; i += group) out.push(vs.slice(i, i + group).reduce((a, b) => a + b, 0));
    return out;
  };
  const lines = series.map((s, i) => `  ${padEnd(clip(s.key, labelW), labelW)} ${style.bar(sparkline(squeeze(s.values)))} ${padStart(totals[i]!, totalW)}`);
  const span = Math.ceil(buckets.length / group);
  const first = buckets[0]!;
  const last = buckets[buckets.length - 1]!;
  const axis = span >= width(first) + width(last) + 1 ? first + ' '.repeat(span - width(first) - width(last)) + last : `${first} → ${last}`;
  lines.push(style.dim(`  ${' '.repeat(labelW)} ${axis}${group > 1 ? ` (${group} per mark)` : ''}`));
  return lines;
}

export function figures(items: { label: string; value: string }[], style: Style = PLAIN): string[] {
  const w = Math.max(0, ...items.map((i) => width(i.label)));
  return items.map((i) => `  ${padEnd(i.label, w)}  ${style.bold(i.value)}`);
}

/** The charts of a view as terminal lines (no table). */
export function renderCharts(view: ReportView, total: number, style: Style = PLAIN): string {
  const out: string[] = [style.bold(view.title)];
  if (view.subtitle) out.push(style.dim(view.subtitle));
  for (const s of view.sections) {
    out.push('', s.title);
    if (s.kind === 'bars' || s.kind === 'histogram') out.push(...barChart(s.items, total, style));
    else if (s.kind === 'series') out.push(...seriesChart(s.buckets, s.series, total, style));
    else out.push(...figures(s.items, style));
  }
  return out.join('\n');
}

const cellText = (c: Cell) => (c === null || c === undefined ? '' : typeof c === 'number' ? formatNumber(c) : c);

/** An aligned text table (for the terminal). */
export function textTable(t: Table, style: Style = PLAIN): string {
  const shown = t.rows.map((r) => t.columns.map((_, i) => (t.display?.[i] ? t.display[i]!(r[i] ?? null) : cellText(r[i] ?? null))));
  const cols = t.columns.map((c, i) => Math.max(width(c), ...shown.map((r) => width(r[i]!))));
  const numeric = t.columns.map((_, i) => t.rows.length > 0 && t.rows.every((r) => r[i] === null || typeof r[i] === 'number'));
  const line = (cells: string[]) => cells.map((c, i) => (numeric[i] ? padStart(c, cols[i]!) : padEnd(c, cols[i]!))).join('  ').trimEnd();
  if (!t.rows.length) return [style.bold(line(t.columns)), style.dim('(none)')].join('\n');
  return [style.bold(line(t.columns)), ...shown.map(line)].join('\n');
}

/** Tab-separated values with a header line (piped output: easy to cut/awk). */
export function tsv(t: Table): string {
  const clean = (s: string) => s.replace(/[\t\r\n]/g, ' ');
  return [t.columns, ...t.rows.map((r) => r.map(cellText))].map((r) => r.map(clean).join('\t')).join('\n');
}

/** RFC 4180 CSV: quoted when needed, CRLF line ends; numbers unformatted. */
export function csv(t: Table): string {
  const q = (c: Cell) => {
    const s = c === null || c === undefined ? '' : String(c);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [t.columns.map(q), ...t.rows.map((r) => r.map(q))].map((r) => r.join(',')).join('\r\n') + '\r\n';
}

// ─── SVG ─────────────────────────────────────────────────────────────────────

const xml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
const PALETTE = ['#1f6feb', '#d97706', '#16a34a', '#dc2626', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#475569'];
const FONT = 'font-family="system-ui,-apple-system,Segoe UI,sans-serif"';

function svgDoc(w: number, h: number, title: string, body: string[]): string {
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${xml(title)}">`,
    `<title>${xml(title)}</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="16" y="28" ${FONT} font-size="16" font-weight="600" fill="#1f2328">${xml(title)}</text>`,
    ...body,
    `</svg>`,
    '',
  ].join('\n');
}

function svgBars(title: string, items: BarItem[]): string {
  const rowH = 24;
  const labelW = Math.min(240, 12 + 7 * Math.max(4, ...items.map((i) => width(i.label))));
  const plotW = 420;
  const w = labelW + plotW + 110;
  const h = 56 + Math.max(1, items.length) * rowH + 16;
  const max = Math.max(0, ...items.map((i) => i.value));
  const body = items.map((it, i) => {
    const y = 48 + i * rowH;
    const bw = max > 0 ? Math.max(it.value > 0 ? 1 : 0, Math.round((it.value / max) * plotW)) : 0;
    return [
      `<text x="${labelW - 8}" y="${y + 16}" ${FONT} font-size="12" text-anchor="end" fill="#1f2328">${xml(it.label)}</text>`,
      `<rect x="${labelW}" y="${y + 4}" width="${bw}" height="${rowH - 8}" fill="${PALETTE[0]}"/>`,
      `<text x="${labelW + bw + 6}" y="${y + 16}" ${FONT} font-size="12" fill="#57606a">${xml(it.display ?? formatNumber(it.value))}</text>`,
    ].join('');
  });
  if (!items.length) body.push(`<text x="16" y="64" ${FONT} font-size="12" fill="#57606a">(no data)</text>`);
  return svgDoc(w, h, title, body);
}

function svgSeries(title: string, buckets: string[], series: SeriesLine[]): string {
  const left = 48;
  const top = 48;
  const plotW = 640;
  const plotH = 220;
  const legendH = 20 * series.length;
  const w = left + plotW + 24;
  const h = top + plotH + 48 + legendH;
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const x = (i: number) => left + (buckets.length <= 1 ? plotW / 2 : (i / (buckets.length - 1)) * plotW);
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const body: string[] = [
    `<line x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${top + plotH}" stroke="#8c959f"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#8c959f"/>`,
    `<text x="${left - 6}" y="${top + 4}" ${FONT} font-size="11" text-anchor="end" fill="#57606a">${formatNumber(max)}</text>`,
    `<text x="${left - 6}" y="${top + plotH + 4}" ${FONT} font-size="11" text-anchor="end" fill="#57606a">0</text>`,
  ];
  // x labels: first, last and a few between
  const step = Math.max(1, Math.ceil(buckets.length / 6));
  buckets.forEach((b, i) => {
    if (i % step === 0 || i === buckets.length - 1) body.push(`<text x="${x(i).toFixed(1)}" y="${top + plotH + 18}" ${FONT} font-size="11" text-anchor="middle" fill="#57606a">${xml(b)}</text>`);
  });
  series.forEach((s, k) => {
    const color = PALETTE[k % PALETTE.length];
    const pts = s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    body.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts}"/>`);
    const ly = top + plotH + 40 + k * 20;
    const total = s.total ?? formatNumber(s.values.reduce((a, b) => a + b, 0));
    body.push(`<rect x="${left}" y="${ly - 10}" width="12" height="12" fill="${color}"/><text x="${left + 18}" y="${ly}" ${FONT} font-size="12" fill="#1f2328">${xml(s.key)} (${xml(total)})</text>`);
  });
  return svgDoc(w, h, title, body);
}

/** The view's first chart as an SVG document (a figures-only view becomes a bar chart of its table's first numeric column). */
export function toSvg(view: ReportView): string {
  const s = view.sections.find((x) => x.kind !== 'figures');
  const title = view.subtitle ? `${view.title} — ${view.subtitle}` : view.title;
  if (s?.kind === 'series') return svgSeries(`${title}: ${s.title}`, s.buckets, s.series);
  if (s?.kind === 'bars' || s?.kind === 'histogram') return svgBars(`${title}: ${s.title}`, s.items);
  const col = view.table.columns.findIndex((_, i) => view.table.rows.some((r) => typeof r[i] === 'number'));
  return svgBars(title, col < 0 ? [] : view.table.rows.map((r) => ({ label: cellText(r[0] ?? null), value: Number(r[col] ?? 0) })));
}

// ─── output ──────────────────────────────────────────────────────────────────

/** Print a report the way the flags and the terminal ask (see the file comment). */
export async function renderReport(f: Factory, data: unknown, view: ReportView, opts: RenderOptions): Promise<void> {
  if (opts.svg) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(opts.svg, toSvg(view));
    f.err(`wrote ${opts.svg}`);
  }
  if (opts.json !== undefined && opts.json !== false) {
    f.out(JSON.stringify(data, null, 2));
    return;
  }
  if (opts.csv) {
    f.io.stdout.write(csv(view.table));
    return;
  }
  if (!f.io.stdout.isTTY) {
    f.out(tsv(view.table));
    return;
  }
  let style = PLAIN;
  if (f.color) {
    // our stream is the terminal (chalk would look at process.stdout): colour at the basic 16-colour level
    const { Chalk } = await import('chalk');
    const chalk = new Chalk({ level: 1 });
    style = { bar: (s) => chalk.cyan(s), dim: (s) => chalk.dim(s), bold: (s) => chalk.bold(s) };
  }
  const total = Math.max(40, Math.min(opts.width ?? f.io.stdout.columns ?? 80, 160));
  f.out(renderCharts(view, total, style));
  f.out('');
  f.out(textTable(view.table, style));
}
