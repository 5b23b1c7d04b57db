// Runs autocannon in its own process (so the load generator does not share the server's event
// loop) and prints the result as JSON. Options arrive as JSON in argv[2].
import autocannon from 'autocannon';

const opts = JSON.parse(process.argv[2]);
const result = await autocannon(opts);
process.stdout.write(JSON.stringify({
  non2xx: result.non2xx,
  errors: result.errors,
  timeouts: result.timeouts,
  total: result.requests.total,
  rps: result.requests.average,
  latency: { average: result.latency.average, p99: result.latency.p99 },
}));
