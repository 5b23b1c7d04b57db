/**
 * `smartsupport reports tickets|volume|backlog|times|workload|chat|sla`. Each analytics verb fetches
 * the API's series and hands a ReportView to the shared renderer (src/cli/output/charts.ts):
 * charts on a terminal, a plain table when piped, --csv, --json, --svg FILE.
 */
import type { Command } from 'commander';
import { defineVerb, withJson } from '../command.js';
import type { Factory } from '../factory.js';
import { print } from '../output/print.js';
import { registerAnalytics } from './analytics.js';
import { registerSlaReport } from './sla.js';

export function register(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'tickets', 'getTicketReport', 'ticket counts by status and response/resolution percentiles')).action(async (o) => {
    const f = factory();
    const res = await f.client().call('get', '/api/reports/tickets/');
    if (o.json !== undefined) {
      await print(f, res.data, { json: o.json, columns: [{ key: 'by_status' }, { key: 'times' }, { key: 'times_as_of' }] });
      return;
    }
    await print(f, Object.entries(res.data.by_status).map(([status, count]) => ({ status, count })), { columns: [{ key: 'status' }, { key: 'count' }] });
    await print(f, res.data.times, {
      columns: ['department', 'priority', 'tickets', 'response_time_p50', 'response_time_p90', 'resolution_time_p50', 'resolution_time_p90'].map((key) => ({ key, format: (v: unknown) => (typeof v === 'number' ? String(Math.round(v)) : String(v ?? '')) })),
    });
    // on stderr, so the tables stay the only thing on stdout for scripts
    f.err(`times as of ${res.data.times_as_of}`);
  });
  registerAnalytics(noun, factory);
  registerSlaReport(noun, factory);
}
