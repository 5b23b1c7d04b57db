/**
 * API keys: `ssk_` + 32 random bytes (base64url). Shown once at creation; stored as sha256 (the
 * HTTP edge looks keys up by that hash) with a visible prefix to recognise them in lists.
 */
import { recordEvent, SYSTEM_ACTOR, type EventInput } from '../events/events.js';
import type { Knex } from 'knex';
import { notFound, unprocessable } from '../../http/errors.js';
import type { BeforeCommit } from '../../http/idempotency.js';
import { paginate, type Page } from '../../http/pagination.js';
import { randomToken, sha256 } from '../../lib/crypto.js';

const COLUMNS = ['id', 'name', 'prefix', 'role', 'scopes', 'created_by', 'created_at', 'expires_at', 'last_used_at', 'revoked_at'] as const;

const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : v);

export function presentKey(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(COLUMNS.map((c) => [c, iso(row[c])]));
}

export async function listKeys(db: Knex, f: { limit?: number; cursor?: string; include_revoked?: boolean }): Promise<Page<Record<string, unknown>>> {
  const qb = db('api_keys').select(COLUMNS);
  if (!f.include_revoked) qb.whereNull('revoked_at');
  const page = await paginate<Record<string, unknown>>(qb, { limit: f.limit, cursor: f.cursor });
  return { ...page, data: page.data.map(presentKey) };
}

export async function createKey(db: Knex, createdBy: number | null, input: { name: string; role: string; scopes?: string[]; expires_at?: string | null }, actor: EventInput['actor'] = SYSTEM_ACTOR, beforeCommit?: BeforeCommit<void>): Promise<Record<string, unknown>> {
  if (input.expires_at && new Date(input.expires_at).getTime() <= Date.now()) {
    throw unprocessable('invalid_expiry', 'expires_at must be in the future.', [{ field: 'expires_at', message: 'must be in the future' }]);
  }
  const key = `ssk_${randomToken(32)}`;
  return db.transaction(async (trx) => {
    const [row] = await trx('api_keys')
      .insert({ name: input.name.trim(), prefix: key.slice(0, 12), key_hash: sha256(key), role: input.role, scopes: [...new Set(input.scopes ?? [])], created_by: createdBy, expires_at: input.expires_at ?? null })
      .returning(COLUMNS);
    // the snapshot never carries the key (shown once, to the creator only)
    await recordEvent(trx, { type: 'api_key.created', actor, object: { type: 'api_key', id: String(row.id) }, admin_only: true, data: { object: presentKey(row) } });
    await beforeCommit?.(trx); // an Idempotency-Key is marked used with the key (never storing it)
    return { ...presentKey(row), key };
  });
}

export async function revokeKey(db: Knex, id: number, actor: EventInput['actor'] = SYSTEM_ACTOR): Promise<void> {
  await db.transaction(async (trx) => {
    const [row] = await trx('api_keys').where({ id }).whereNull('revoked_at').update({ revoked_at: trx.fn.now() }).returning(COLUMNS);
    if (row) {
      await recordEvent(trx, { type: 'api_key.revoked', actor, object: { type: 'api_key', id: String(row.id) }, admin_only: true, data: { object: presentKey(row) } });
      return;
    }
    const exists = await trx('api_keys').where({ id }).first('id');
    if (!exists) throw notFound('API key');
  });
}
