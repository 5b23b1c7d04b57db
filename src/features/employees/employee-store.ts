/**
 * The only file that queries `employees` and `employee_rejections`. Rows come back in their API
 * shape (snake_case, no password hash).
 */
import type { Db } from '../../db/knex.js';
import { paginate, type Page } from '../../http/pagination.js';
import type { IdRef } from '../../lib/ids.js';

export const EMPLOYEE_COLUMNS = [
  'id', 'company_id', 'first_name', 'last_name', 'middle_name', 'suffix', 'department', 'email', 'image',
  'role', 'status', 'notified', 'date_created', 'updated_at', 'last_login_at',
] as const;

export interface EmployeeRecord {
  id: number;
  company_id: string;
  first_name: string;
  last_name: string;
  middle_name: string | null;
  suffix: string | null;
  department: string;
  email: string;
  image: string | null;
  role: string;
  status: string;
  notified: boolean;
  date_created: Date;
  updated_at: Date;
  last_login_at: Date | null;
}

export interface EmployeeWithSecret extends EmployeeRecord {
  password_hash: string | null;
}

export type { Db };

const cols = (prefix = '') => EMPLOYEE_COLUMNS.map((c) => `${prefix}${c}`);

/**
 * Turns the `image` column (a storage key, or null for the default image) into a URL a client can
 * fetch. Signing needs the app's secret and public URL, so callers build it (see `employeePresenter`):
 * no query per row, just an HMAC.
 */
export type ImageUrlOf = (image: string | null) => string;

export function present(e: EmployeeRecord, imageUrlOf: ImageUrlOf): Record<string, unknown> {
  return {
    ...Object.fromEntries(EMPLOYEE_COLUMNS.map((c) => [c, e[c] instanceof Date ? (e[c] as Date).toISOString() : e[c]])),
    image_url: imageUrlOf(e.image),
  };
}

export async function findEmployee(db: Db, ref: IdRef, opts: { forUpdate?: boolean } = {}): Promise<EmployeeRecord | undefined> {
  const q = db('employees').select(cols()).where(ref.by === 'id' ? { id: ref.value } : { company_id: ref.value }).first();
  if (opts.forUpdate) q.forUpdate();
  return q as Promise<EmployeeRecord | undefined>;
}

export async function findByEmail(db: Db, email: string): Promise<EmployeeWithSecret | undefined> {
  return db('employees').select([...cols(), 'password_hash']).whereRaw('lower(email) = lower(?)', [email]).first();
}

export async function findWithSecret(db: Db, id: number): Promise<EmployeeWithSecret | undefined> {
  return db('employees').select([...cols(), 'password_hash']).where({ id }).first();
}

export async function emailTaken(db: Db, email: string, exceptId?: number): Promise<boolean> {
  const q = db('employees').whereRaw('lower(email) = lower(?)', [email]).first('id');
  if (exceptId) q.whereNot({ id: exceptId });
  return Boolean(await q);
}

export async function insertEmployee(db: Db, row: Record<string, unknown>): Promise<EmployeeRecord> {
  const [e] = await db('employees').insert(row).returning(cols());
  return e as EmployeeRecord;
}

export async function updateEmployee(db: Db, id: number, patch: Record<string, unknown>, where: Record<string, unknown> = {}): Promise<EmployeeRecord | undefined> {
  const [e] = await db('employees').where({ id, ...where }).update({ ...patch, updated_at: db.fn.now() }).returning(cols());
  return e as EmployeeRecord | undefined;
}

export interface EmployeeFilters {
  status?: string;
  role?: string;
  department?: string;
  q?: string;
  limit?: number;
  cursor?: string;
}

export async function listEmployees(db: Db, f: EmployeeFilters): Promise<Page<EmployeeRecord & Record<string, unknown>>> {
  const qb = db('employees').select(cols());
  if (f.status) qb.where({ status: f.status });
  if (f.role) qb.where({ role: f.role });
  if (f.department) qb.where({ department: f.department });
  if (f.q) {
    const like = `%${f.q.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
    qb.where((w) =>
      w.whereILike('email', like).orWhereILike('company_id', like).orWhereRaw("(first_name || ' ' || coalesce(middle_name || ' ', '') || last_name) ILIKE ?", [like]),
    );
  }
  return paginate(qb, { limit: f.limit, cursor: f.cursor });
}

export async function countByStatus(db: Db): Promise<Record<string, number>> {
  const rows = await db('employees').select('status').count<{ status: string; count: string }[]>('* as count').groupBy('status');
  const out: Record<string, number> = { Pending: 0, Approved: 0, Rejected: 0, Deactivated: 0, Erased: 0 };
  for (const r of rows) out[r.status] = Number(r.count);
  return out;
}

export async function countActiveAdmins(db: Db): Promise<number> {
  const r = await db('employees').where({ role: 'System Admin', status: 'Approved' }).count<{ count: string }[]>('* as count');
  return Number(r[0].count);
}

export async function insertRejection(db: Db, row: Record<string, unknown>): Promise<void> {
  await db('employee_rejections').insert(row);
}

export const REJECTION_COLUMNS = ['id', 'employee_id', 'company_id', 'first_name', 'last_name', 'middle_name', 'suffix', 'email', 'department', 'reason', 'rejected_by', 'rejected_by_name', 'rejected_at'] as const;

export async function listRejections(db: Db, f: { limit?: number; cursor?: string }): Promise<Page<Record<string, unknown>>> {
  const page = await paginate<Record<string, unknown>>(db('employee_rejections').select(REJECTION_COLUMNS), { limit: f.limit, cursor: f.cursor });
  return { ...page, data: page.data.map((r) => ({ ...r, id: Number(r.id), employee_id: r.employee_id === null ? null : Number(r.employee_id), rejected_by: r.rejected_by === null ? null : Number(r.rejected_by), rejected_at: (r.rejected_at as Date).toISOString() })) };
}
