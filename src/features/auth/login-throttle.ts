/**
 * Failed-login throttling, stored in PostgreSQL (table rate_limits, through rate-limiter-flexible)
 * so it holds across API instances. Only failures count:
 *  - per account (lower-cased email, known or not — so it reveals nothing): 5 failures in 15 min
 *    lock that email out for 15 min;
 *  - per client IP: 30 failures in 15 min block that IP for 15 min.
 * While blocked every attempt (even with the right password) gets 429 with Retry-After.
 * A successful login clears the account's counter.
 */
import type { Knex } from 'knex';
import { RateLimiterPostgres } from 'rate-limiter-flexible';
import { pgQueryClient } from '../../db/knex.js';
import { tooManyRequests } from '../../http/errors.js';

export const LOGIN_LIMITS = { perAccount: 5, perIp: 30, windowSeconds: 900 } as const;

export interface LoginThrottle {
  check(email: string, ip: string): Promise<void>;
  fail(email: string, ip: string): Promise<void>;
  succeed(email: string): Promise<void>;
}

export function createLoginThrottle(db: Knex): LoginThrottle {
  const make = (keyPrefix: string, points: number) =>
    new RateLimiterPostgres({
      // node-pg style, so statement names can be dropped behind PgBouncer (DATABASE_PREPARED_STATEMENTS)
      storeClient: pgQueryClient(db),
      storeType: 'pool',
      tableName: 'rate_limits',
      tableCreated: true,
      keyPrefix,
      points,
      duration: LOGIN_LIMITS.windowSeconds,
      blockDuration: LOGIN_LIMITS.windowSeconds,
      clearExpiredByTimeout: false,
    });
  const account = make('login_fail_acct', LOGIN_LIMITS.perAccount);
  const ip = make('login_fail_ip', LOGIN_LIMITS.perIp);
  const key = (email: string) => email.trim().toLowerCase();
  return {
    async check(email, addr) {
      const [a, i] = await Promise.all([account.get(key(email)), ip.get(addr)]);
      for (const [r, max, what] of [[a, LOGIN_LIMITS.perAccount, 'this account'], [i, LOGIN_LIMITS.perIp, 'your address']] as const) {
        if (r && r.consumedPoints >= max) throw tooManyRequests(r.msBeforeNext / 1000, `Too many failed sign-ins for ${what}; try again later.`);
      }
    },
    async fail(email, addr) {
      await Promise.all([account.penalty(key(email), 1), ip.penalty(addr, 1)]);
    },
    async succeed(email) {
      await account.delete(key(email));
    },
  };
}
