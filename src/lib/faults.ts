/**
 * Test-only fault injection. `SMARTSUPPORT_TEST_FAULT=<point>` makes the process SIGKILL itself
 * when it reaches that named point, so a test can cut a real process at an exact moment (e.g.
 * between a handler's commit and the code that follows it). Ignored when NODE_ENV=production.
 *
 * Points: `idempotency-after-handler` (src/http/idempotency.ts: the handler returned — its
 * transaction committed — and the middleware has not yet recorded the response itself).
 */
export function faultPoint(name: string): void {
  if (process.env.SMARTSUPPORT_TEST_FAULT === name && process.env.NODE_ENV !== 'production') process.kill(process.pid, 'SIGKILL');
}
