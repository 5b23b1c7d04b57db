import type { Command } from 'commander';
import type { Factory } from '../factory.js';
import { usageError } from '../errors.js';

const KEYS = ['url', 'api_key', 'email'] as const;

export function register(program: Command, factory: () => Factory): void {
  const config = program.command('config').description('show and change CLI settings and profiles');
  config
    .command('path')
    .description('print the configuration file path')
    .action(async () => {
      const { configPath } = await import('../config-file.js');
      factory().out(configPath(factory().io.env));
    });
  config
    .command('list')
    .description('list profiles (secrets are never printed)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const f = factory();
      const { readConfigFile } = await import('../config-file.js');
      const cfg = readConfigFile();
      const rows = Object.entries(cfg.profiles).map(([name, p]) => ({
        name,
        current: name === (cfg.current ?? 'default'),
        url: p.url ?? null,
        email: p.email ?? null,
        signed_in: Boolean(p.refresh_token || p.access_token),
        api_key: Boolean(p.api_key),
      }));
      const { print } = await import('../output/print.js');
      await print(f, rows, { json: opts.json, columns: [{ key: 'name' }, { key: 'current', format: (v) => (v ? '*' : '') }, { key: 'url' }, { key: 'email' }, { key: 'signed_in' }, { key: 'api_key' }] });
    });
  config
    .command('get')
    .description('print a setting of the current profile')
    .argument('<key>', KEYS.join(' | '))
    .action(async (key: string) => {
      if (!(KEYS as readonly string[]).includes(key)) throw usageError(`unknown key ${key}; one of ${KEYS.join(', ')}`);
      const p = factory().profile();
      const value = key === 'url' ? p.url : key === 'email' ? p.email : p.apiKey ? `${p.apiKey.slice(0, 8)}…` : undefined;
      factory().out(value ?? '');
    });
  config
    .command('set')
    .description('change a setting of the current profile (api_key: "-" reads it from stdin)')
    .argument('<key>', KEYS.join(' | '))
    .argument('<value>')
    .action(async (key: string, value: string) => {
      if (!(KEYS as readonly string[]).includes(key)) throw usageError(`unknown key ${key}; one of ${KEYS.join(', ')}`);
      const f = factory();
      if (key === 'url') {
        try {
          const u = new URL(value);
          if (!/^https?:$/.test(u.protocol)) throw new Error();
        } catch {
          throw usageError('url must be an http(s) URL');
        }
      }
      let v = value;
      if (key === 'api_key' && value === '-') {
        v = (await f.stdinText()).trim();
      }
      await f.saveProfile({ [key]: v.replace(/\/+$/, '') });
      f.err(`${key} saved in profile ${f.profile().name}`);
    });
  config
    .command('use')
    .description('make a profile the current one')
    .argument('<profile>')
    .action(async (name: string) => {
      const { readConfigFile, writeConfigFile } = await import('../config-file.js');
      const cfg = readConfigFile();
      cfg.profiles[name] ??= {};
      cfg.current = name;
      await writeConfigFile(cfg);
      factory().err(`now using profile ${name}`);
    });
}
