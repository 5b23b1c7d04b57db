/**
 * The first System Admin. With SMARTSUPPORT_ADMIN_EMAIL/PASSWORD set, that account is created when
 * no System Admin exists. With neither set and no admin, one is created (admin@smartsupport.local)
 * with a random password written to `<dataDir>/initial-admin.txt` (mode 0600); only the file's path
 * is logged, never the password.
 */
import { mkdir, writeFile, chmod } from 'node:fs/promises';
import path from 'node:path';
import type { Knex } from 'knex';
import type { Config } from '../../config/config.js';
import { randomToken } from '../../lib/crypto.js';
import type { Logger } from '../../lib/log.js';
import { hashPassword, passwordProblems } from './passwords.js';

export const DEFAULT_ADMIN_EMAIL = 'admin@smartsupport.local';

export async function ensureFirstAdmin(db: Knex, config: Config, log: Logger): Promise<'exists' | 'created_from_env' | 'created_with_file'> {
  const existing = await db('employees').where({ role: 'System Admin' }).first('id');
  if (existing) return 'exists';
  const fromEnv = Boolean(config.adminEmail && config.adminPassword);
  const email = config.adminEmail ?? DEFAULT_ADMIN_EMAIL;
  const password = config.adminPassword ?? randomToken(18);
  if (fromEnv) {
    const problems = passwordProblems(password, 'SMARTSUPPORT_ADMIN_PASSWORD');
    if (problems.length) throw new Error(`SMARTSUPPORT_ADMIN_PASSWORD ${problems[0].message}`);
  }
  const hash = await hashPassword(password);
  const inserted = await db.transaction(async (trx) => {
    // serialize concurrent starts (several instances booting at once)
    await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', ['smartsupport:first-admin']);
    if (await trx('employees').where({ role: 'System Admin' }).first('id')) return false;
    const taken = await trx('employees').whereRaw('lower(email) = lower(?)', [email]).first('id');
    if (taken) {
      await trx('employees').where({ id: taken.id }).update({ role: 'System Admin', status: 'Approved', password_hash: hash, password_changed_at: trx.fn.now(), updated_at: trx.fn.now() });
    } else {
      await trx('employees').insert({ first_name: 'System', last_name: 'Administrator', email, department: 'IT Department', role: 'System Admin', status: 'Approved', notified: true, password_hash: hash, password_changed_at: trx.fn.now() });
    }
    return true;
  });
  if (!inserted) return 'exists';
  if (fromEnv) {
    log.info({ email }, 'created the first System Admin from SMARTSUPPORT_ADMIN_EMAIL');
    return 'created_from_env';
  }
  await mkdir(config.dataDir, { recursive: true });
  const file = path.join(config.dataDir, 'initial-admin.txt');
  await writeFile(file, `email: ${email}\npassword: ${password}\n# Sign in with \`smartsupport login --admin\`, change the password, then delete this file.\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  log.warn({ email, file }, 'created the first System Admin; its generated password is in this file (mode 0600)');
  return 'created_with_file';
}
