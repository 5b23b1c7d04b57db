/** `smartsupport reports tickets` and `reports sla`. */
import type { Command } from 'commander';
import { defineVerb, withJson } from '../command.js';
import type { Factory } from '../factory.js';
import { print } from '../output/print.js';

export function register(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'tickets', 'getTicketReport', 'ticket counts by status and response/resolution percentiles')).action(async (o) => {
    const f = factory();
    const res = await f.client().call('get', '/api/reports/tickets/');
    if (o.json !== undefined) {
      await print(f, res.data, { json: o.json, columns: [{ key: 'by_status' }, { key: 'times' }] });
      return;
    }
    await print(f, Object.entries(res.data.by_status).map(([status, count]) => ({ status, count })), { columns: [{ key: 'status' }, { key: 'count' }] });
    await print(f, res.data.times, {
      columns: ['department', 'priority', 'tickets', 'response_time_p50', 'response_time_p90', 'resolution_time_p50', 'resolution_time_p90'].map((key) => ({ key, format: (v: unknown) => (typeof v === 'number' ? String(Math.round(v)) : String(v ?? '')) })),
    });
  });

  withJson(defineVerb(noun, 'sla', 'getSlaReport', 'SLA compliance and business-time percentiles per policy, priority, category or assignee'))
    .option('--since <period>', 'period before --until (30d, 12h, 2w) or a date-time', '30d')
    .option('--until <iso>', 'end of the period (default now)')
    .option('--by <group>', 'policy, priority, category or assignee', 'policy')
    .option('--csv', 'print CSV (for spreadsheets)')
    .action(async (o: { since: string; until?: string; by: string; csv?: boolean; json?: boolean | string }) => {
      // TODO(reports branch): once src/cli/output/charts.ts is on main, render this through it
      const f = factory();
      const res = await f.client().call('get', '/api/reports/sla/', { query: { since: o.since, until: o.until, group_by: o.by as 'policy' } });
      const rows = res.data.groups.map((g) => ({
        [o.by]: g.key,
        tickets: g.tickets,
        fr_met: g.first_response.met,
        fr_breached: g.first_response.breached,
        fr_compliance: g.first_response.compliance_percent,
        fr_p50_min: g.first_response.p50_business_minutes,
        fr_p90_min: g.first_response.p90_business_minutes,
        res_met: g.resolution.met,
        res_breached: g.resolution.breached,
        res_compliance: g.resolution.compliance_percent,
        res_p50_min: g.resolution.p50_business_minutes,
        res_p90_min: g.resolution.p90_business_minutes,
      }));
      if (o.json !== undefined) {
        await print(f, res.data as unknown as Record<string, unknown>, { json: o.json, columns: [{ key: 'since' }, { key: 'until' }, { key: 'group_by' }, { key: 'groups' }] });
        return;
      }
      if (o.csv) {
        f.out(toCsv(rows));
        return;
      }
      f.err(`SLA ${res.data.since} → ${res.data.until}`);
      await print(f, rows, { columns: Object.keys(rows[0] ?? { [o.by]: '' }).map((key) => ({ key, format: (v: unknown) => (v === null || v === undefined ? '-' : String(v)) })) });
    });
}

/** RFC 4180: a header line, fields quoted when they hold a comma, quote or line break. */
export function toCsv(rows: Record<string, unknown>[]): string {
  if (!rows.length) return '';
  const cell = (v: unknown) => {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const keys = Object.keys(rows[0]!);
  return [keys.map(cell).join(','), ...rows.map((r) => keys.map((k) => cell(r[k])).join(','))].join('\n');
}
