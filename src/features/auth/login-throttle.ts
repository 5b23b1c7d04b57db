/**
 * Sign-in throttling, stored in PostgreSQL (table rate_limits, through rate-limiter-flexible) so it
 * holds across API instances. Every attempt RESERVES one point in each counter below with an atomic
 * upsert BEFORE the password is checked, so concurrent guesses cannot slip past a limit; a
 * successful sign-in gives its points back (only failures stay counted).
 *
 *  - per (account, client address): 5 attempts in 15 min — the tight limit a single attacker hits;
 *  - per client address (any accounts): 30 attempts in 15 min — password spraying;
 *  - per account across all addresses: 50 attempts per hour — the ceiling on guesses against one
 *    account from many addresses. An attacker from one address never reaches it (it is stopped at
 *    5 per 15 min, i.e. 20 an hour), so the owner signing in from another address is not locked out
 *    by one attacker; it takes ≥ 10 addresses to spend it.
 *
 * While a counter is spent, attempts get 429 with Retry-After, before any password check. The
 * account key is the lower-cased email, known or not (so the answer reveals nothing).
 */
import type { Knex } from 'knex';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { pgQueryClient } from '../../db/knex.js';
import { tooManyRequests } from '../../http/errors.js';

export const LOGIN_LIMITS = {
  perAccountAddress: { points: 5, seconds: 900 },
  perAddress: { points: 30, seconds: 900 },
  perAccount: { points: 50, seconds: 3600 },
} as const;

/** A reserved attempt: `succeeded()` gives its points back. */
export interface LoginAttempt {
  succeeded(): Promise<void>;
}

export interface LoginThrottle {
  /** Reserve one attempt for (email, address) or throw 429. */
  reserve(email: string, ip: string): Promise<LoginAttempt>;
}

export function createLoginThrottle(db: Knex): LoginThrottle {
  const make = (keyPrefix: string, l: { points: number; seconds: number }) =>
    new RateLimiterPostgres({
      // node-pg style, so statement names can be dropped behind PgBouncer (DATABASE_PREPARED_STATEMENTS)
      storeClient: pgQueryClient(db),
      storeType: 'pool',
      tableName: 'rate_limits',
      tableCreated: true,
      keyPrefix,
      points: l.points,
      duration: l.seconds,
      clearExpiredByTimeout: false,
    });
  const pair = make('login_acct_addr', LOGIN_LIMITS.perAccountAddress);
  const address = make('login_addr', LOGIN_LIMITS.perAddress);
  const account = make('login_acct', LOGIN_LIMITS.perAccount);
  const norm = (email: string) => email.trim().toLowerCase();

  /** consume one point (atomic upsert); false when the counter was already spent */
  const take = async (l: RateLimiterPostgres, key: string): Promise<RateLimiterRes | true> => {
    try {
      await l.consume(key, 1);
      return true;
    } catch (err) {
      if (err instanceof RateLimiterRes) return err;
      throw err;
    }
  };
  const refuse = (r: RateLimiterRes, what: string) => tooManyRequests(r.msBeforeNext / 1000, `Too many sign-in attempts for ${what}; try again later.`);

  return {
    async reserve(email, ip) {
      const acct = norm(email);
      const pairKey = `${acct}|${ip}`;
      // in this order, so a blocked attacker's extra attempts never count against the account's
      // shared ceiling (which would lock its owner out)
      const p = await take(pair, pairKey);
      if (p !== true) throw refuse(p, 'this account from your address');
      const a = await take(address, ip);
      if (a !== true) {
        await pair.reward(pairKey, 1);
        throw refuse(a, 'your address');
      }
      const c = await take(account, acct);
      if (c !== true) {
        await Promise.all([pair.reward(pairKey, 1), address.reward(ip, 1)]);
        throw refuse(c, 'this account');
      }
      return {
        async succeeded() {
          await Promise.all([pair.delete(pairKey), address.reward(ip, 1), account.reward(acct, 1)]);
        },
      };
    },
  };
}
