/** `smartsupport reports sla`: SLA compliance per group, through the shared chart/table/CSV renderer. */
import { InvalidArgumentError, type Command } from 'commander';
import { renderReport, type ReportView } from '../output/charts.js';
import { defineVerb, withJson } from '../command.js';
import type { Factory } from '../factory.js';

const GROUPS = ['policy', 'priority', 'category', 'assignee'];

export function registerSlaReport(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'sla', 'getSlaReport', 'SLA compliance and business-time percentiles per policy, priority, category or assignee'))
    .option('--since <period>', 'period before --until (30d, 12h, 2w) or a date-time', '30d')
    .option('--until <iso>', 'end of the period (default now)')
    .option('--by <group>', 'policy, priority, category or assignee', (v: string) => {
      if (!GROUPS.includes(v)) throw new InvalidArgumentError(`one of: ${GROUPS.join(', ')}`);
      return v;
    }, 'policy')
    .option('--csv', 'print the table as CSV')
    .option('--svg <file>', 'also write the chart as an SVG image to FILE')
    .action(async (o: { since: string; until?: string; by: string; csv?: boolean; svg?: string; json?: boolean | string }) => {
      const f = factory();
      const res = await f.client().call('get', '/api/reports/sla/', { query: { since: o.since, until: o.until, group_by: o.by as 'policy' } });
      const d = res.data;
      const view: ReportView = {
        title: `SLA compliance by ${d.group_by}`,
        subtitle: `${d.since.slice(0, 16).replace('T', ' ')} → ${d.until.slice(0, 16).replace('T', ' ')} UTC · business minutes`,
        sections: [
          { kind: 'bars', title: 'first response met on time (%)', items: d.groups.map((g) => ({ label: g.key, value: g.first_response.compliance_percent ?? 0, display: g.first_response.compliance_percent === null ? '–' : `${g.first_response.compliance_percent}%` })) },
          { kind: 'bars', title: 'resolution met on time (%)', items: d.groups.map((g) => ({ label: g.key, value: g.resolution.compliance_percent ?? 0, display: g.resolution.compliance_percent === null ? '–' : `${g.resolution.compliance_percent}%` })) },
        ],
        table: {
          columns: [d.group_by, 'tickets', 'fr_met', 'fr_breached', 'fr_compliance', 'fr_p50_min', 'fr_p90_min', 'res_met', 'res_breached', 'res_compliance', 'res_p50_min', 'res_p90_min'],
          rows: d.groups.map((g) => [
            g.key,
            g.tickets,
            g.first_response.met,
            g.first_response.breached,
            g.first_response.compliance_percent,
            g.first_response.p50_business_minutes,
            g.first_response.p90_business_minutes,
            g.resolution.met,
            g.resolution.breached,
            g.resolution.compliance_percent,
            g.resolution.p50_business_minutes,
            g.resolution.p90_business_minutes,
          ]),
        },
      };
      await renderReport(f, d, view, { json: o.json, csv: o.csv, svg: o.svg });
    });
}
