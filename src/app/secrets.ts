import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Development convenience: without JWT_SECRET, generate one once and keep it in the data dir (0600),
 * so tokens survive a restart. Production refuses to start without JWT_SECRET (see config).
 */
export async function resolveJwtSecret(configured: string | undefined, dataDir: string): Promise<string> {
  if (configured) return configured;
  const file = path.join(dataDir, 'jwt-secret');
  if (existsSync(file)) {
    const s = (await readFile(file, 'utf8')).trim();
    if (s.length >= 32) return s;
  }
  await mkdir(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  await writeFile(file, secret + '\n', { mode: 0o600 });
  await chmod(file, 0o600);
  return secret;
}

/**
 * The same for SECRETS_KEY (the key that seals webhook signing secrets at rest, src/lib/sealed.ts):
 * without it, 32 random bytes are generated once into `<dataDir>/secrets-key` (0600, base64).
 * Production refuses to start without SECRETS_KEY (see config).
 */
export async function resolveSecretsKey(configured: Buffer | undefined, dataDir: string): Promise<Buffer> {
  if (configured) return configured;
  const file = path.join(dataDir, 'secrets-key');
  if (existsSync(file)) {
    const k = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
    if (k.length === 32) return k;
  }
  await mkdir(dataDir, { recursive: true });
  const key = randomBytes(32);
  await writeFile(file, key.toString('base64') + '\n', { mode: 0o600 });
  await chmod(file, 0o600);
  return key;
}
