/**
 * RFC 9457 problem details. Every error response in the API is one of these; handlers throw
 * AppError through the factory helpers and the edge renders it.
 */
export interface FieldError {
  field: string;
  message: string;
}

export interface ProblemExtras {
  errors?: FieldError[];
  /** Extra, stable, machine-readable members (e.g. current_status, allowed). */
  [key: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  422: 'Unprocessable Content',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

export class AppError extends Error {
  readonly expose = true;
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly extras: ProblemExtras = {},
    /** Response headers to add (e.g. Retry-After). */
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = 'AppError';
  }

  get title(): string {
    return TITLES[this.status] ?? 'Error';
  }
}

export const badRequest = (code: string, detail: string, errors?: FieldError[]) =>
  new AppError(400, code, detail, errors ? { errors } : {});
export const validationFailed = (errors: FieldError[], detail = 'The request is not valid.') =>
  new AppError(400, 'validation_failed', detail, { errors });
export const unauthorized = (detail = 'Authentication is required.', code = 'unauthenticated') =>
  new AppError(401, code, detail, {}, { 'WWW-Authenticate': 'Bearer' });
export const forbidden = (detail = 'You are not allowed to do this.', code = 'forbidden') => new AppError(403, code, detail);
export const notFound = (what = 'resource', code = 'not_found') => new AppError(404, code, `The ${what} was not found.`);
export const conflict = (code: string, detail: string, extras: ProblemExtras = {}) => new AppError(409, code, detail, extras);
export const preconditionFailed = (detail = 'The resource has changed; fetch it again.') =>
  new AppError(412, 'precondition_failed', detail);
export const tooLarge = (detail: string) => new AppError(413, 'too_large', detail);
export const unsupportedMediaType = (detail: string) => new AppError(415, 'unsupported_media_type', detail);
export const unprocessable = (code: string, detail: string, errors?: FieldError[]) =>
  new AppError(422, code, detail, errors ? { errors } : {});
export const tooManyRequests = (retryAfterSeconds: number, detail = 'Too many requests; slow down.') =>
  new AppError(429, 'rate_limited', detail, {}, { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) });
export const serviceUnavailable = (detail = 'A dependency is unavailable; try again shortly.', code = 'service_unavailable') =>
  new AppError(503, code, detail, {}, { 'Retry-After': '5' });

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  request_id: string;
  errors?: FieldError[];
  [key: string]: unknown;
}

export function problemBody(err: AppError, requestId: string): ProblemBody {
  const { errors, ...rest } = err.extras;
  return {
    type: `https://smartsupport.dev/problems/${err.code.replace(/_/g, '-')}`,
    title: err.title,
    status: err.status,
    detail: err.detail,
    code: err.code,
    request_id: requestId,
    ...rest,
    ...(errors ? { errors } : {}),
  };
}

/** PostgreSQL error codes that mean "the database is unreachable or going away". */
const PG_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006', '53300']);
/** PostgreSQL data exceptions caused by a value: numeric out of range, invalid text representation, bad datetime. */
const PG_BAD_VALUE = new Set(['22003', '22P02', '22007', '22008']);
const NET_UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);

/** Turn anything thrown into an AppError; unknown errors become a bare 500 (details go to the log only). */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = err as { status?: number; statusCode?: number; code?: string; name?: string; message?: string; type?: string };
  if (e && (NET_UNAVAILABLE.has(e.code ?? '') || PG_UNAVAILABLE.has(e.code ?? '') ||
    e.name === 'KnexTimeoutError' ||
    /Connection terminated|timeout exceeded when trying to connect|not queryable|connection error|database system is (shutting down|starting up|in recovery mode)|Client was closed/i.test(e.message ?? ''))) {
    return serviceUnavailable('The database is unavailable; try again shortly.', 'database_unavailable');
  }
  // a value PostgreSQL cannot hold (an id past bigint, a malformed date) came from the client
  if (PG_BAD_VALUE.has(e?.code ?? '')) return badRequest('invalid_value', 'A value in the request is out of range or malformed.');
  // backstop: every other data exception (class 22: a NUL byte 22021, a string too long, …) is
  // about a value we were sent, not a fault of ours; the SQL is never logged or echoed
  if (typeof e?.code === 'string' && /^22[0-9A-Z]{3}$/.test(e.code)) return badRequest('validation_failed', 'A value in the request cannot be stored.');
  const status = e?.status ?? e?.statusCode;
  if (status === 413 || e?.type === 'entity.too.large') return tooLarge('The request body is too large.');
  if (status === 415) return unsupportedMediaType('The request content type is not supported.');
  if (status === 400 && (e?.type === 'entity.parse.failed' || /JSON|Unexpected token|parse/i.test(e?.message ?? ''))) {
    return badRequest('malformed_body', 'The request body could not be parsed.');
  }
  if (status === 400) return badRequest('bad_request', 'The request could not be read.');
  return new AppError(500, 'internal_error', 'Something went wrong on our side. The request id identifies it in our logs.');
}
