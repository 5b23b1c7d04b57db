/**
 * The per-request metrics `http_requests_total{method,operation,status}` and
 * `http_request_duration_seconds{method,operation}`, kept as plain counters per series and turned
 * into prom-client's exposition only when /metrics is scraped.
 *
 * prom-client's own Counter and Histogram validate and hash the label set on every increment, even
 * through a labelled child; on a probe request that was the largest single cost of the pipeline
 * after Node's HTTP code. Here a request costs one Map lookup by a string key and a few additions.
 * The objects register with the process's prom-client Registry like any metric (`get()` returns
 * prom-client's MetricObject), so the output, the registry and the default process metrics are
 * unchanged.
 */
import type { Registry } from 'prom-client';

/** What prom-client's Registry reads from a metric's `get()` (its MetricObjectWithValues). */
interface Exposed {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  values: { metricName?: string; labels: Record<string, string | number>; value: number }[];
}

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

interface Series {
  method: string;
  operation: string;
  status: string;
  count: number;
}

interface DurationSeries {
  method: string;
  operation: string;
  /** observations per bucket (not cumulative); the last slot is above the largest bound */
  buckets: number[];
  sum: number;
  count: number;
}

export interface HttpMetrics {
  /** one finished request */
  observe(method: string, operation: string, status: number, seconds: number): void;
}

const byRegistry = new WeakMap<Registry, HttpMetrics>();

/** The request metrics of a registry: created and registered on first use, the same object after (several apps may share one context). */
export function httpMetrics(registry: Registry): HttpMetrics {
  let m = byRegistry.get(registry);
  if (!m) byRegistry.set(registry, (m = createHttpMetrics(registry)));
  return m;
}

function createHttpMetrics(registry: Registry): HttpMetrics {
  const requests = new Map<string, Series>();
  const durations = new Map<string, DurationSeries>();
  // series looked up through nested maps (method → operation → status): no key string is built per request
  const byMethod = new Map<string, Map<string, { duration: DurationSeries; statuses: Map<number, Series> }>>();

  registry.registerMetric({
    name: 'http_requests_total',
    help: 'HTTP requests',
    type: 'counter',
    aggregator: 'sum',
    async get(): Promise<Exposed> {
      return {
        name: 'http_requests_total',
        help: 'HTTP requests',
        type: 'counter',
        aggregator: 'sum',
        values: [...requests.values()].map((s) => ({ labels: { method: s.method, operation: s.operation, status: s.status }, value: s.count })),
      };
    },
    reset: () => (requests.clear(), byMethod.clear()),
  } as never);

  registry.registerMetric({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration',
    type: 'histogram',
    aggregator: 'sum',
    async get(): Promise<Exposed> {
      const values: Exposed['values'] = [];
      for (const d of durations.values()) {
        const labels = { method: d.method, operation: d.operation };
        let acc = 0;
        BUCKETS.forEach((le, i) => {
          acc += d.buckets[i]!;
          values.push({ metricName: 'http_request_duration_seconds_bucket', labels: { le, ...labels }, value: acc });
        });
        values.push({ metricName: 'http_request_duration_seconds_bucket', labels: { le: '+Inf', ...labels }, value: d.count });
        values.push({ metricName: 'http_request_duration_seconds_sum', labels, value: d.sum });
        values.push({ metricName: 'http_request_duration_seconds_count', labels, value: d.count });
      }
      return { name: 'http_request_duration_seconds', help: 'HTTP request duration', type: 'histogram', aggregator: 'sum', values };
    },
    reset: () => (durations.clear(), byMethod.clear()),
  } as never);

  return {
    observe(method, operation, status, seconds) {
      // bounded: methods are HTTP's, operations the spec's (or `unmatched`), statuses HTTP's
      let ops = byMethod.get(method);
      if (!ops) byMethod.set(method, (ops = new Map()));
      let o = ops.get(operation);
      if (!o) {
        // first sight since start or a reset: the exposed maps are the record, this is only an index
        const key = `${method} ${operation}`;
        let duration = durations.get(key);
        if (!duration) durations.set(key, (duration = { method, operation, buckets: new Array<number>(BUCKETS.length + 1).fill(0), sum: 0, count: 0 }));
        ops.set(operation, (o = { duration, statuses: new Map() }));
      }
      let r = o.statuses.get(status);
      if (!r) {
        const key = `${method} ${operation} ${status}`;
        r = requests.get(key);
        if (!r) requests.set(key, (r = { method, operation, status: String(status), count: 0 }));
        o.statuses.set(status, r);
      }
      r.count++;
      const d = o.duration;
      let i = 0;
      while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++;
      d.buckets[i]!++;
      d.sum += seconds;
      d.count++;
    },
  };
}
