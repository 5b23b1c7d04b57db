/**
 * The request metrics kept by src/http/http-metrics.ts print exactly what prom-client's own Counter
 * and Histogram print for the same requests: same series, labels, buckets (boundaries included),
 * sums and counts — so a scraper sees no difference from the cheaper bookkeeping.
 */
import t from 'tap';
import { Counter, Histogram, Registry } from 'prom-client';
import { httpMetrics } from '../src/http/http-metrics.js';

const requests: [string, string, number, number][] = [
  ['GET', 'getHealth', 200, 0.0004],
  ['GET', 'getHealth', 200, 0.005], // exactly on a bound: counted in le="0.005"
  ['GET', 'listTickets', 200, 0.012],
  ['GET', 'listTickets', 401, 0.001],
  ['POST', 'createTicket', 201, 0.3],
  ['POST', 'createTicket', 201, 7.5], // above every bound: only +Inf
  ['GET', 'unmatched', 404, 0.0001],
  ['GET', 'listTickets', 200, 2.5],
];

t.test('the same exposition as prom-client for the same requests', async (t) => {
  const ref = new Registry();
  const counter = new Counter({ name: 'http_requests_total', help: 'HTTP requests', labelNames: ['method', 'operation', 'status'], registers: [ref] });
  const histogram = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'operation'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [ref],
  });
  const ours = new Registry();
  const m = httpMetrics(ours);
  for (const [method, operation, status, seconds] of requests) {
    counter.inc({ method, operation, status: String(status) });
    histogram.observe({ method, operation }, seconds);
    m.observe(method, operation, status, seconds);
  }
  const sorted = (text: string) => text.split('\n').filter(Boolean).sort();
  const got = await ours.metrics();
  t.same(sorted(got), sorted(await ref.metrics()), 'line for line');
  t.match(got, /http_requests_total\{method="POST",operation="createTicket",status="201"\} 2/);
  t.match(got, /http_request_duration_seconds_bucket\{le="0.005",method="GET",operation="getHealth"\} 2|http_request_duration_seconds_bucket\{method="GET",operation="getHealth",le="0.005"\} 2/);

  t.same(await ours.getMetricsAsJSON().then((j) => j.map((x) => x.name).sort()), ['http_request_duration_seconds', 'http_requests_total']);
  ours.resetMetrics();
  ref.resetMetrics();
  t.notMatch(await ours.metrics(), /getHealth/, 'reset clears the series');
  // and counting starts again from zero (the per-series index is dropped with them)
  for (const [method, operation, status, seconds] of requests.slice(0, 3)) {
    counter.inc({ method, operation, status: String(status) });
    histogram.observe({ method, operation }, seconds);
    m.observe(method, operation, status, seconds);
  }
  t.same(sorted(await ours.metrics()), sorted(await ref.metrics()), 'after a reset, line for line again');
  t.match(await ours.metrics(), /http_requests_total\{method="GET",operation="getHealth",status="200"\} 2\n/);
});
