/**
 * CLI configuration: `$XDG_CONFIG_HOME/smartsupport/config.json` (mode 0600) with named profiles.
 * Environment overrides: SMARTSUPPORT_URL, SMARTSUPPORT_TOKEN, SMARTSUPPORT_API_KEY, SMARTSUPPORT_PROFILE.
 */
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface Profile {
  url?: string;
  access_token?: string;
  refresh_token?: string;
  api_key?: string;
  email?: string;
}

export interface ConfigFile {
  current?: string;
  profiles: Record<string, Profile>;
}

export const DEFAULT_URL = 'http://localhost:8000';

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'smartsupport', 'config.json');
}

export function readConfigFile(file = configPath()): ConfigFile {
  if (!existsSync(file)) return { profiles: {} };
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as ConfigFile;
    return { current: parsed.current, profiles: parsed.profiles ?? {} };
  } catch {
    throw Object.assign(new Error(`${file} is not valid JSON; fix or delete it`), { name: 'ConfigError' });
  }
}

export async function writeConfigFile(cfg: ConfigFile, file = configPath()): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(cfg, null, 2) + '\n', { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}

export interface ResolvedProfile {
  name: string;
  url: string;
  accessToken?: string;
  refreshToken?: string;
  apiKey?: string;
  email?: string;
}

/** Flag > environment > config file > default. */
export function resolveProfile(cfg: ConfigFile, flags: { profile?: string; url?: string }, env: NodeJS.ProcessEnv = process.env): ResolvedProfile {
  const name = flags.profile ?? (env.SMARTSUPPORT_PROFILE || undefined) ?? cfg.current ?? 'default';
  const p = cfg.profiles[name] ?? {};
  const envToken = env.SMARTSUPPORT_TOKEN || undefined;
  const envKey = env.SMARTSUPPORT_API_KEY || undefined;
  return {
    name,
    url: (flags.url ?? (env.SMARTSUPPORT_URL || undefined) ?? p.url ?? DEFAULT_URL).replace(/\/+$/, ''),
    // an explicit env credential replaces the stored session entirely
    accessToken: envToken ?? (envKey ? undefined : p.access_token),
    refreshToken: envToken || envKey ? undefined : p.refresh_token,
    apiKey: envKey ?? (envToken ? undefined : p.api_key),
    email: p.email,
  };
}
