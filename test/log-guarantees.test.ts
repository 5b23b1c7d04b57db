/**
 * docs/operations.md "Logs": one JSON `request` line per request (req_id = X-Request-Id, method,
 * path, operationId, status, duration, caller) and never headers, bodies or query strings. The real
 * `smartsupport serve` runs in a child process; its real stdout is captured and read.
 */
import t from 'tap';
import { createApiKey, signedIn, startTestApp } from './helpers/harness.js';
import { startServe } from './helpers/processes.js';

t.test('request lines carry the documented fields and nothing from headers, bodies or query strings', async (t) => {
  const ta = await startTestApp(t);
  const employee = await signedIn(ta, { role: 'Employee' });
  const apiKey = await createApiKey(ta.db, { role: 'System Admin', scopes: ['tickets:read', 'tickets:write'], name: 'log test' });
  const serve = await startServe(t, ta, { LOG_LEVEL: 'info' }, ['--no-worker']);

  // every secret-looking thing the requests carry; none may reach the log
  const MARK = `zq${Date.now().toString(36)}`;
  const secrets = {
    header: `${MARK}-custom-header`,
    cookie: `${MARK}-cookie`,
    query: `${MARK}-query`,
    queryToken: `${MARK}-query-token`,
    body: `${MARK}-body`,
    password: `${MARK}-Password-1!`,
    badJson: `${MARK}-bad-json`,
  };
  const sent: { what: string; res: Response; caller?: string; path: string; method: string; op: string }[] = [];
  const call = async (what: string, method: string, pathAndQuery: string, init: { headers?: Record<string, string>; body?: string }, expect: { caller?: string; op: string }) => {
    const res = await fetch(`${serve.url}${pathAndQuery}`, { method, headers: init.headers, body: init.body });
    await res.text();
    sent.push({ what, res, method, path: pathAndQuery.split('?')[0]!, ...expect });
  };

  await call('bearer + query + custom header + cookie', 'GET', `/api/tickets/?q=${secrets.query}&limit=5`, { headers: { Authorization: `Bearer ${employee.token}`, 'X-Custom': secrets.header, Cookie: `session=${secrets.cookie}` } }, { caller: `user:${employee.user.id}`, op: 'listTickets' });
  await call('api key + JSON body', 'POST', '/api/tickets/', {
    headers: { 'X-API-Key': apiKey.key, 'Content-Type': 'application/json' },
    body: JSON.stringify({ subject: 'Printer', category: 'Hardware', sub_category: 'Printer', description: secrets.body, employee_id: employee.user.id }),
  }, { caller: `api_key:${apiKey.id}`, op: 'createTicket' });
  await call('a failed sign-in (password in the body)', 'POST', '/api/token/employee/', { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email: employee.user.email, password: secrets.password }) }, { op: 'loginEmployee' });
  await call('a credential in the query', 'GET', `/api/attachments/1/download/?signature=${secrets.queryToken}`, {}, { op: 'downloadAttachment' });
  await call('a body that is not JSON', 'POST', '/api/tickets/', { headers: { Authorization: `Bearer ${employee.token}`, 'Content-Type': 'application/json' }, body: `{"subject": "${secrets.badJson}` }, { caller: `user:${employee.user.id}`, op: 'createTicket' });
  // answered before Koa (livenessFrontDoor): logged the same way
  await call('the liveness probe, with a cookie and a custom header', 'GET', '/healthz', { headers: { 'X-Custom': secrets.header, Cookie: `session=${secrets.cookie}` } }, { op: 'getHealth' });
  await call('an unknown path with a query', 'GET', `/nowhere/?token=${secrets.queryToken}`, {}, { op: 'unmatched' });

  // the log line of the last request is written once it has been answered
  const lastId = sent.at(-1)!.res.headers.get('x-request-id')!;
  await serve.waitForOutput(new RegExp(`"req_id":"${lastId}"`), 'the last request logged');
  const lines = serve.logLines();
  for (const s of sent) {
    const id = s.res.headers.get('x-request-id');
    const mine = lines.filter((l) => l.req_id === id && l.msg === 'request');
    t.equal(mine.length, 1, `${s.what}: one request line`);
    t.match(mine[0], { method: s.method, path: s.path, status: s.res.status, op: s.op, ms: Number }, `${s.what}: method, path without its query, status, operation, duration`);
    t.equal(mine[0]?.caller, s.caller, `${s.what}: caller ${s.caller ?? 'none'}`);
  }
  t.same(sent.map((s) => s.res.status), [200, 201, 401, 401, 400, 200, 404], 'the requests were answered as expected (so each reached the code that logs)');

  const all = serve.stdout() + serve.stderr();
  for (const [what, value] of Object.entries(secrets)) t.notOk(all.includes(value), `the ${what} is not in the log`);
  t.notOk(all.includes(MARK), 'nothing the client sent beyond method and path is in the log');
  t.notOk(all.includes(employee.token), 'the bearer token is not in the log');
  t.notOk(all.includes(apiKey.key), 'the API key is not in the log');
  t.notOk(all.includes(employee.user.email), "the email from the sign-in body is not in the log");
  // a request line holds the documented fields and pino's own (level, time, pid, hostname, name, msg), nothing else
  const documented = new Set(['req_id', 'method', 'path', 'op', 'status', 'ms', 'caller', 'level', 'time', 'pid', 'hostname', 'name', 'msg']);
  const extra = new Set(lines.filter((l) => l.msg === 'request').flatMap((l) => Object.keys(l).filter((k) => !documented.has(k))));
  t.same([...extra], [], 'request lines carry no other field');
  const keys = new Set(lines.flatMap((l) => Object.keys(l)));
  for (const k of ['headers', 'req', 'res', 'body', 'query', 'querystring', 'authorization', 'cookie']) t.notOk(keys.has(k), `no "${k}" field in any log line`);
});
