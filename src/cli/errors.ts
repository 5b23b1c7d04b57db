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
