/**
 * `smartsupport` — the CLI root. Only commander and the command table load at start; a noun's
 * verbs (and anything heavy they need) load when that noun is used, so `--help` starts fast.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { packageRoot } from '../lib/paths.js';
import { describeError, EXIT } from './errors.js';
import { Factory, type IO, type Prompter } from './factory.js';
import { register as registerApi } from './local/api.js';
import { register as registerCompletion } from './local/completion.js';
import { register as registerConfig } from './local/config.js';
import { register as registerDatabase } from './local/database.js';
import { register as registerServe } from './local/serve.js';
import { register as registerStorage } from './local/storage.js';

export type NounModule = { register(noun: Command, factory: () => Factory): void };

export interface NounEntry {
  name: string;
  description: string;
  load: () => Promise<NounModule>;
}

/** Every noun (`smartsupport <noun> <verb>`); each module registers its verbs. */
export const NOUNS: NounEntry[] = [
  { name: 'system', description: 'health, readiness, metrics and the OpenAPI document of a server', load: () => import('./system/index.js') },
  { name: 'login', description: 'sign in and keep the session in the profile', load: () => import('./login/index.js') },
  { name: 'logout', description: 'sign out (revokes the session)', load: () => import('./logout/index.js') },
  { name: 'token', description: 'the stored session: refresh it now', load: () => import('./token/index.js') },
  { name: 'whoami', description: 'show the signed-in account', load: () => import('./whoami/index.js') },
  { name: 'employees', description: 'accounts, approvals and the rejection audit', load: () => import('./employees/index.js') },
  { name: 'profile', description: 'your own account', load: () => import('./profile/index.js') },
  { name: 'password', description: 'change, forget or reset a password', load: () => import('./password/index.js') },
  { name: 'api-keys', description: 'API keys for scripts and integrations (System Admin)', load: () => import('./api-keys/index.js') },
  { name: 'chat', description: 'ask the FAQ assistant: chat "question", an interactive session, show, escalate', load: () => import('./chat/index.js') },
  { name: 'faqs', description: 'the FAQ knowledge base: list, show, add, update, remove', load: () => import('./faqs/index.js') },
  { name: 'tickets', description: 'tickets: list, show, create, transitions, comments, history', load: () => import('./tickets/index.js') },
  { name: 'reports', description: 'reports with charts: ticket volume, backlog, times, workload, chat analytics, SLA compliance', load: () => import('./reports/index.js') },
  { name: 'calendars', description: 'business-hours calendars for SLA policies: list, show, create, update, delete', load: () => import('./calendars/index.js') },
  { name: 'sla', description: 'SLA policies: list, show, create, update, delete', load: () => import('./sla/index.js') },
  { name: 'jobs', description: 'background job queues: sizes, failures, retry', load: () => import('./jobs/index.js') },
  { name: 'workflow', description: 'pushes of tickets to the workflow system', load: () => import('./workflow/index.js') },
  { name: 'email', description: 'received mail: list, show, release from quarantine (System Admin)', load: () => import('./email/index.js') },
  { name: 'announcements', description: 'system announcements: list, create, archive', load: () => import('./announcements/index.js') },
  { name: 'notifications', description: 'the email delivery log', load: () => import('./notifications/index.js') },
  { name: 'attachments', description: 'ticket attachments and media files (download)', load: () => import('./attachments/index.js') },
  { name: 'events', description: 'the event log: list, tail (live)', load: () => import('./events/index.js') },
  { name: 'webhooks', description: 'webhook subscriptions, their deliveries, and listen --forward-to for local development', load: () => import('./webhooks/index.js') },
];

/** Global options that take a value (skipped when finding the noun to load). */
const GLOBAL_VALUE_OPTIONS = new Set(['--profile', '--url', '--idempotency-key']);

export interface MainOptions {
  io?: IO;
  prompter?: Prompter;
  /** register every noun's verbs (completion scripts, the parity test) */
  loadAll?: boolean;
  /** wrap help at this width whatever stdout is (the fast-path texts are built at 80, commander's width off a terminal) */
  helpWidth?: number;
}

function version(): string {
  return (JSON.parse(readFileSync(`${packageRoot}/package.json`, 'utf8')) as { version: string }).version;
}

export async function buildProgram(argv: string[], opts: MainOptions = {}): Promise<{ program: Command; factory: () => Factory }> {
  const program = new Command('smartsupport');
  let f: Factory | undefined;
  const factory = () => (f ??= new Factory(program.opts<{ profile?: string; url?: string; dryRun?: boolean; idempotencyKey?: string }>(), opts.io, opts.prompter));
  program
    .description('SmartSupport — headless IT helpdesk: API server, workers and client')
    .version(version(), '-V, --version')
    .option('--profile <name>', 'configuration profile to use (env SMARTSUPPORT_PROFILE)')
    .option('--url <url>', 'API base URL (env SMARTSUPPORT_URL)')
    .option('--dry-run', 'print the request that would be sent instead of sending it')
    .option('--idempotency-key <key>', 'Idempotency-Key for this command\'s POSTs, so a retried script never acts twice (env SMARTSUPPORT_IDEMPOTENCY_KEY; default: random)')
    .showSuggestionAfterError(true)
    .exitOverride();
  if (opts.io) {
    const io = opts.io;
    program.configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  }
  if (opts.helpWidth) {
    const width = opts.helpWidth;
    program.configureOutput({ getOutHelpWidth: () => width, getErrHelpWidth: () => width });
  }
  registerServe(program);
  registerDatabase(program);
  registerStorage(program);
  registerApi(program, factory);
  registerConfig(program, factory);
  registerCompletion(program, factory);

  // load only the noun being used; for help, list all nouns without loading them
  const words: string[] = [];
  for (let i = 2; i < argv.length; i++) {
    if (GLOBAL_VALUE_OPTIONS.has(argv[i])) i += 1; // `--profile work tickets …`: "work" is not the noun
    else if (!argv[i].startsWith('-')) words.push(argv[i]);
  }
  // `help tickets` shows the tickets help, so it needs the tickets verbs too
  const noun = words[0] === 'help' ? words[1] : words[0];
  const wanted = NOUNS.find((n) => n.name === noun);
  for (const noun of NOUNS) {
    const cmd = program.command(noun.name).description(noun.description);
    if (noun === wanted || words[0] === 'completion' || opts.loadAll) (await noun.load()).register(cmd, factory);
  }
  for (const c of program.commands) c.exitOverride();
  return { program, factory };
}

/** Run the CLI; returns the exit code (the bin script exits with it). */
export async function run(argv: string[], opts: MainOptions = {}): Promise<number> {
  const stderr = opts.io?.stderr ?? process.stderr;
  try {
    const { program } = await buildProgram(argv, opts);
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (err) {
    if ((err as Error)?.name === 'DryRun') return EXIT.ok;
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.ok;
      if (err.code === 'commander.executeSubCommandAsync') return EXIT.ok;
      return EXIT.usage; // commander already printed the message
    }
    const { message, code } = describeError(err);
    stderr.write(`error: ${message}\n`);
    return code;
  }
}

export async function main(argv: string[]): Promise<void> {
  const code = await run(argv);
  // exit once stdout has drained (pools and timers must not keep a finished command alive)
  process.stdout.write('', () => process.exit(code));
}
