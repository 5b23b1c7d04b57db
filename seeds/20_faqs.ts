/** The FAQ knowledge base: inserts missing seed entries; never overwrites an admin's edits. */
import type { SeedContext } from '../src/db/seed.js';
import { ensureFaqSeed } from '../src/features/chat/faq-seed.js';

export async function seed(ctx: SeedContext): Promise<void> {
  const n = await ensureFaqSeed(ctx.db);
  ctx.log.info({ inserted: n }, 'FAQ knowledge base seeded');
}
