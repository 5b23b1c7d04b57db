/** `smartsupport seed`: make sure a System Admin exists (same rules as start-up; idempotent). */
import type { SeedContext } from '../src/db/seed.js';
import { ensureFirstAdmin } from '../src/features/auth/first-admin.js';

export async function seed(ctx: SeedContext): Promise<void> {
  await ensureFirstAdmin(ctx.db, ctx.config, ctx.log);
}
