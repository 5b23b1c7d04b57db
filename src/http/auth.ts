/**
 * Who is calling: resolves the principal from `Authorization: Bearer <access JWT>` or `X-API-Key`
 * (and, only for operations whose spec lists the query schemes, `?token=` / `?api_key=`, plus a
 * signed file URL's `?signature=` for the `signedUrl` scheme), then
 * enforces the operation's declared roles (`x-roles`) and API-key scope (`x-scope`).
 * Object-level rules ("may this caller see this ticket?") live in the feature services.
 */
import type { Knex } from 'knex';
import { sha256 } from '../lib/crypto.js';
import { verifyAccessToken, type JwtSettings } from '../lib/jwt.js';
import { verifyResource, type SignedResource } from '../lib/signed-urls.js';
import { AppError, forbidden, unauthorized } from './errors.js';
import type { Operation } from './openapi.js';

export const ROLES = ['Employee', 'Ticket Coordinator', 'System Admin'] as const;
export type Role = (typeof ROLES)[number];
export const STAFF_ROLES: readonly Role[] = ['Ticket Coordinator', 'System Admin'];

export const SCOPES = ['tickets:read', 'tickets:write', 'employees:read', 'employees:write', 'media:read', 'workflow:callback', 'chat', 'jobs:read', 'jobs:write', 'reports:read', 'events:read', 'webhooks:write'] as const;
export type Scope = (typeof SCOPES)[number];

export type Principal =
  | { kind: 'user'; id: number; employeeId: number; role: Role; sessionId: string | undefined }
  | { kind: 'api_key'; id: number; employeeId: null; role: Role; scopes: Scope[]; createdBy: number | null };

/** Who is calling, as rate limits, idempotency records and logs name it: `user:7`, `api_key:3`, `ip:…`. */
export function callerKey(principal: Principal | undefined, ip: string): string {
  return principal ? `${principal.kind}:${principal.id}` : `ip:${ip}`;
}

export const isStaff = (p: Principal | undefined): boolean => !!p && STAFF_ROLES.includes(p.role);
export const isAdmin = (p: Principal | undefined): boolean => p?.role === 'System Admin';

export interface AuthDeps {
  db: Knex;
  jwt: JwtSettings;
  /** Optional extra check for a verified access token (e.g. its session family was revoked). */
  isSessionRevoked?: (sessionId: string) => Promise<boolean>;
}

interface Credentials {
  bearer?: string;
  apiKey?: string;
  /** `?signature=` (signed file URL), only where the operation lists the `signedUrl` scheme */
  signature?: string;
}

export function readCredentials(op: Operation | undefined, headers: Record<string, string | string[] | undefined>, query: Record<string, unknown>): Credentials {
  const creds: Credentials = {};
  const authz = headers['authorization'];
  if (typeof authz === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authz);
    if (!m) throw unauthorized('The Authorization header must be "Bearer <token>".', 'invalid_token');
    creds.bearer = m[1];
  }
  const key = headers['x-api-key'];
  if (typeof key === 'string' && key) creds.apiKey = key;
  if (op?.schemes.includes('tokenQuery') && typeof query.token === 'string' && !creds.bearer) creds.bearer = query.token;
  if (op?.schemes.includes('apiKeyQuery') && typeof query.api_key === 'string' && !creds.apiKey) creds.apiKey = query.api_key;
  if (op?.schemes.includes('signedUrl') && typeof query.signature === 'string') creds.signature = query.signature;
  return creds;
}

const lastUsedWrites = new Map<number, number>();

export async function resolvePrincipal(deps: AuthDeps, creds: Credentials): Promise<Principal | undefined> {
  if (creds.bearer && creds.apiKey) throw unauthorized('Send either a bearer token or an API key, not both.', 'ambiguous_credentials');
  if (creds.bearer) {
    const r = await verifyAccessToken(deps.jwt, creds.bearer);
    if (!r.ok) throw unauthorized(r.reason === 'expired' ? 'The access token has expired; refresh it.' : 'The access token is not valid.', r.reason === 'expired' ? 'token_expired' : 'invalid_token');
    const id = Number(r.claims.sub);
    if (!Number.isSafeInteger(id) || !(ROLES as readonly string[]).includes(r.claims.role)) throw unauthorized('The access token is not valid.', 'invalid_token');
    if (r.claims.sid && deps.isSessionRevoked && (await deps.isSessionRevoked(r.claims.sid))) {
      throw unauthorized('This session has been signed out.', 'session_revoked');
    }
    return { kind: 'user', id, employeeId: id, role: r.claims.role as Role, sessionId: r.claims.sid };
  }
  if (creds.apiKey) {
    const row = await deps.db('api_keys')
      .where({ key_hash: sha256(creds.apiKey) })
      .whereNull('revoked_at')
      .where((q) => q.whereNull('expires_at').orWhere('expires_at', '>', deps.db.fn.now()))
      .first('id', 'role', 'scopes', 'created_by');
    if (!row) throw unauthorized('The API key is not valid.', 'invalid_api_key');
    const now = Date.now();
    if ((lastUsedWrites.get(row.id) ?? 0) < now - 60_000) {
      lastUsedWrites.set(row.id, now);
      await deps.db('api_keys').where({ id: row.id }).update({ last_used_at: deps.db.fn.now() });
    }
    return { kind: 'api_key', id: row.id, employeeId: null, role: row.role, scopes: row.scopes, createdBy: row.created_by };
  }
  return undefined;
}

/**
 * A signed file URL's resource (e.g. `attachment:42`), verified; 401 `invalid_signature` when a
 * signature was sent but is forged, tampered with or expired. The handler must still check that
 * the resource is exactly the one requested.
 */
export function resolveSignature(deps: Pick<AuthDeps, 'jwt'>, creds: Credentials): SignedResource | undefined {
  if (creds.signature === undefined) return undefined;
  const v = verifyResource(deps.jwt.secret, creds.signature);
  if (!v) throw unauthorized('This link is invalid or has expired; ask for a new one.', 'invalid_signature');
  return v;
}

/** Enforce what the spec declares for the operation. Throws 401/403. */
export function authorizeOperation(op: Operation, principal: Principal | undefined, signed?: SignedResource): void {
  if (op.schemes.length === 0) return; // public
  // (a scrape with the METRICS_TOKEN never gets here: the pipeline lets it through first)
  if (!principal && signed && op.schemes.includes('signedUrl')) return; // the handler matches the resource
  if (!principal) throw unauthorized();
  if (principal.kind === 'api_key') {
    if (!op.schemes.some((s) => s === 'apiKeyAuth' || s === 'apiKeyQuery')) {
      throw forbidden('API keys cannot call this operation; sign in as a person.', 'api_key_not_allowed');
    }
    // default deny: an operation that declares no scope is refused to every key (checkApiKeyScopes
    // stops start-up before that can happen for the served spec); `x-scope-in-handler: true` means
    // the handler checks the scope itself (media downloads, so that the denial is logged)
    if (!op.scope) throw new AppError(403, 'insufficient_scope', 'API keys cannot call this operation: it declares no scope.');
    if (op.raw['x-scope-in-handler'] !== true && !principal.scopes.includes(op.scope as Scope)) {
      throw new AppError(403, 'insufficient_scope', `This API key lacks the "${op.scope}" scope.`, { required_scope: op.scope });
    }
  } else if (!op.schemes.some((s) => s === 'bearerAuth' || s === 'tokenQuery')) {
    throw forbidden('This operation is only for API keys.', 'api_key_required');
  }
  if (op.roles && !op.roles.includes(principal.role)) {
    throw forbidden(`This operation needs one of the roles: ${op.roles.join(', ')}.`, 'role_forbidden');
  }
}

/**
 * Every operation that accepts an API key must name the scope the key needs (`x-scope`), and that
 * scope must be one we know. Returns the problems (empty = fine); start-up fails on any.
 */
export function apiKeyScopeProblems(operations: readonly Operation[]): string[] {
  const problems: string[] = [];
  for (const op of operations) {
    if (!op.schemes.some((s) => s === 'apiKeyAuth' || s === 'apiKeyQuery')) continue;
    if (!op.scope) problems.push(`${op.operationId} accepts API keys but declares no x-scope`);
    else if (!(SCOPES as readonly string[]).includes(op.scope)) problems.push(`${op.operationId} declares an unknown x-scope "${op.scope}"`);
  }
  return problems;
}
