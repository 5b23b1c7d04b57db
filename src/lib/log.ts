import pino, { type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs. Never log request headers, bodies, query strings or secrets. */
export function createLogger(level: string, name = 'smartsupport'): Logger {
  return pino({
    name,
    level,
    base: { pid: process.pid },
    redact: { paths: ['password', '*.password', 'token', '*.token', 'secret', '*.secret', 'authorization', '*.authorization'], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
