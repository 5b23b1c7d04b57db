/**
 * What every command needs, built lazily: I/O streams and TTY facts, the resolved profile,
 * the API client, a prompter (only on a TTY). Commands get a Factory; tests can build one
 * with their own streams and prompter.
 */
import type { Readable, Writable } from 'node:stream';
import { ApiClient, type Credentials } from '../client/http.js';
import { readConfigFile, resolveProfile, writeConfigFile, type Profile, type ResolvedProfile } from './config-file.js';
import { usageError } from './errors.js';

export interface IO {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export interface Globals {
  profile?: string;
  url?: string;
  /** print each request instead of sending it */
  dryRun?: boolean;
  /** Idempotency-Key for the command's POSTs (env SMARTSUPPORT_IDEMPOTENCY_KEY) */
  idempotencyKey?: string;
}

/** Thrown after --dry-run printed the request: ends the command successfully. */
export class DryRun extends Error {
  override name = 'DryRun';
}

/** The subset of @inquirer/prompts the CLI uses; tests inject their own. */
export interface Prompter {
  input(opts: { message: string; default?: string; validate?: (v: string) => boolean | string }): Promise<string>;
  password(opts: { message: string; mask?: string }): Promise<string>;
  confirm(opts: { message: string; default?: boolean }): Promise<boolean>;
  select<T>(opts: { message: string; choices: { name: string; value: T }[] }): Promise<T>;
  checkbox<T>(opts: { message: string; choices: { name: string; value: T; checked?: boolean }[]; required?: boolean }): Promise<T[]>;
}

export class Factory {
  private _profile?: ResolvedProfile;
  private _client?: ApiClient;

  constructor(
    readonly globals: Globals,
    readonly io: IO = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env },
    private readonly injectedPrompter?: Prompter,
  ) {}

  /** Prompts are allowed only when both stdin and stdout are terminals (an injected prompter too). */
  get interactive(): boolean {
    return Boolean(this.io.stdin.isTTY && this.io.stdout.isTTY);
  }

  get color(): boolean {
    return Boolean(this.io.stdout.isTTY) && !this.io.env.NO_COLOR;
  }

  profile(): ResolvedProfile {
    this._profile ??= resolveProfile(readConfigFile(), this.globals, this.io.env);
    return this._profile;
  }

  /** The API client for the profile's credentials (kept for the command). */
  client(): ApiClient {
    if (!this._client) {
      const p = this.profile();
      this._client = this.clientWith({ accessToken: p.accessToken, refreshToken: p.refreshToken, apiKey: p.apiKey });
    }
    return this._client;
  }

  /**
   * A client with other credentials (`{}` for anonymous calls: sign-in, registration, password reset),
   * with the same URL, --dry-run and --idempotency-key as `client()`.
   */
  clientWith(credentials: Credentials): ApiClient {
    return new ApiClient({
      baseUrl: this.profile().url,
      credentials,
      userAgent: 'smartsupport-cli',
      idempotencyKey: this.globals.idempotencyKey ?? (this.io.env.SMARTSUPPORT_IDEMPOTENCY_KEY || undefined),
      onRequest: this.globals.dryRun
        ? (described) => {
            this.out(JSON.stringify(described, null, 2));
            throw new DryRun('dry run');
          }
        : undefined,
      onTokens: async ({ accessToken, refreshToken }) => {
        if (this.io.env.SMARTSUPPORT_TOKEN || this.io.env.SMARTSUPPORT_API_KEY) return;
        await this.saveProfile({ access_token: accessToken, refresh_token: refreshToken });
      },
    });
  }

  async saveProfile(update: Partial<Profile>, clear: (keyof Profile)[] = []): Promise<void> {
    const cfg = readConfigFile();
    const name = this.profile().name;
    const next: Profile = { ...(cfg.profiles[name] ?? {}), ...update };
    for (const k of clear) delete next[k];
    cfg.profiles[name] = next;
    cfg.current ??= name;
    await writeConfigFile(cfg);
    this._profile = undefined;
    this._client = undefined;
  }

  /** The prompter; off a TTY this fails with a usage error naming what to pass instead. */
  async prompter(missing: string): Promise<Prompter> {
    if (!this.interactive) throw usageError(`${missing} is required (no terminal to prompt on)`);
    return this.injectedPrompter ?? ((await import('@inquirer/prompts')) as unknown as Prompter);
  }

  /** All of stdin as text (secrets and data piped in by scripts). */
  async stdinText(): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of this.io.stdin) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
    return Buffer.concat(chunks).toString('utf8');
  }

  /** stdin split into lines (`--password-stdin`: the first line is the password). */
  async stdinLines(): Promise<string[]> {
    return (await this.stdinText()).split(/\r?\n/);
  }

  out(text: string): void {
    this.io.stdout.write(text.endsWith('\n') ? text : text + '\n');
  }

  err(text: string): void {
    this.io.stderr.write(text.endsWith('\n') ? text : text + '\n');
  }
}
