/** Exit codes (docs/cli.md): 0 ok, 1 error, 2 usage, 3 not authenticated/forbidden, 4 not found, 5 conflict. */
export const EXIT = Object.freeze({ ok: 0, error: 1, usage: 2, auth: 3, notFound: 4, conflict: 5 });

export class CliError extends Error {
  constructor(message: string, readonly exitCode: number = EXIT.error) {
    super(message);
    this.name = 'CliError';
  }
}

export const usageError = (message: string) => new CliError(message, EXIT.usage);

export function exitCodeForStatus(status: number): number {
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 404) return EXIT.notFound;
  if (status === 409 || status === 412) return EXIT.conflict;
  return EXIT.error;
}

/** The one-line message and exit code for anything a command threw. */
export function describeError(err: unknown): { message: string; code: number } {
  const e = err as { name?: string; status?: number; problem?: Record<string, unknown>; message?: string };
  if (err instanceof CliError) return { message: err.message, code: err.exitCode };
  if (e?.name === 'ApiError' && e.problem) {
    const p = e.problem as { detail?: string; title?: string; errors?: { field: string; message: string }[]; allowed?: unknown };
    const fields = p.errors?.length ? ` (${p.errors.map((x) => `${x.field} ${x.message}`).join('; ')})` : '';
    const text = p.detail ?? p.title ?? `HTTP ${e.status}`;
    // invalid transitions carry the statuses that are possible now
    const allowed = Array.isArray(p.allowed) && !/allowed/i.test(text) ? `; allowed: ${p.allowed.length ? p.allowed.join(', ') : 'none'}` : '';
    return { message: `${allowed ? text.replace(/\.$/, '') : text}${allowed}${fields}`, code: exitCodeForStatus(e.status ?? 500) };
  }
  if (e?.name === 'NetworkError') return { message: e.message ?? 'network error', code: EXIT.error };
  if (e?.name === 'ConfigError') return { message: e.message ?? 'invalid configuration', code: EXIT.usage };
  if (e?.name === 'ExitPromptError') return { message: 'cancelled', code: EXIT.error };
  return { message: e?.message ?? String(err), code: EXIT.error };
}
