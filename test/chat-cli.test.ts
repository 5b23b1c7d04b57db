/**
 * The `chat` and `faqs` CLI nouns: the built binary in a child process against a test app
 * (one-shot answers, show, escalate, FAQ management, exit codes off a terminal), and the
 * interactive session in-process with an injected prompter.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import t from 'tap';
import { run } from '../src/cli/main.js';
import type { Prompter } from '../src/cli/factory.js';
import { packageRoot } from '../src/lib/paths.js';
import { signedIn, startTestApp } from './helpers/harness.js';

const CEO = 'Elizabeth Marcelo Tinio is the CEO of MAP Active Philippines.';
const OFFICE_PART = 'Rockwell Center, Makati, Metro Manila';

const ta = await startTestApp(t);
const xdg = await mkdtemp(path.join(os.tmpdir(), 'ss-chat-cli-'));
t.teardown(() => rm(xdg, { recursive: true, force: true }));
const employee = await signedIn(ta);
const admin = await signedIn(ta, { role: 'System Admin' });

function cli(args: string[], token: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [path.join(packageRoot, 'bin', 'smartsupport'), ...args],
      { env: { PATH: process.env.PATH, SMARTSUPPORT_URL: ta.url, SMARTSUPPORT_TOKEN: token, XDG_CONFIG_HOME: xdg, NO_COLOR: '1' }, timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(); // not a terminal
  });
}

t.test('chat "question" prints the answer and its sources', async (t) => {
  const r = await cli(['chat', 'Who is the CEO of MAP Active Philippines?'], employee.token);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, CEO);
  t.match(r.stdout, /Sources:\n {2}FAQ \d+: Who is the CEO of MAP Active Philippines\?/);
  t.match(r.stderr, /answered from the FAQs · conversation \d+/);

  const json = await cli(['chat', 'Where is the office located?', '--json'], employee.token);
  t.equal(json.code, 0, json.stderr);
  const reply = JSON.parse(json.stdout);
  t.match(reply.answer, OFFICE_PART);
  t.equal(reply.provider, 'faq');

  // continue the conversation, then show and escalate it
  const more = await cli(['chat', '-c', String(reply.conversation_id), 'what is the boiling point of mercury'], employee.token);
  t.equal(more.code, 0, more.stderr);
  t.match(more.stdout, /couldn't find an answer/);

  const show = await cli(['chat', 'show', String(reply.conversation_id)], employee.token);
  t.equal(show.code, 0, show.stderr);
  t.match(show.stdout, /You: Where is the office located\?/);
  t.match(show.stdout, /Assistant \(faq\): MAP ACTIVE PHILIPPINES INC\. is located/);
  t.match(show.stdout, /You: what is the boiling point of mercury/);

  const showJson = await cli(['chat', 'show', String(reply.conversation_id), '--json'], employee.token);
  t.equal(JSON.parse(showJson.stdout).messages.length, 4, 'the show verb gets its own --json');

  const esc = await cli(['chat', 'escalate', String(reply.conversation_id)], employee.token);
  t.equal(esc.code, 0, esc.stderr);
  t.match(esc.stdout, /TX\d{4,}/);
  t.match(esc.stderr, /created ticket TX\d{4,}/);
  const again = await cli(['chat', 'escalate', String(reply.conversation_id)], employee.token);
  t.match(again.stderr, /already escalated/);

  const other = await signedIn(ta);
  const hidden = await cli(['chat', 'show', String(reply.conversation_id)], other.token);
  t.equal(hidden.code, 4, 'someone else\'s conversation is not found');
});

t.test('chat without a question off a terminal is a usage error', async (t) => {
  const r = await cli(['chat'], employee.token);
  t.equal(r.code, 2);
  t.match(r.stderr, /a question is required/);
});

t.test('faqs list|show|add|update|remove', async (t) => {
  const list = await cli(['faqs', 'list', '--json'], employee.token);
  t.equal(list.code, 0, list.stderr);
  t.ok(JSON.parse(list.stdout).some((f: { answer: string }) => f.answer === CEO));

  const search = await cli(['faqs', 'list', '-q', 'who is the ceo', '--json', 'id,answer'], employee.token);
  t.same(Object.keys(JSON.parse(search.stdout)[0]), ['id', 'answer']);
  t.equal(JSON.parse(search.stdout)[0].answer, CEO);

  t.equal((await cli(['faqs', 'add', '--question', 'Q?', '--answer', 'A.'], employee.token)).code, 3, 'employees cannot add');
  t.equal((await cli(['faqs', 'add', '--question', 'Q?'], admin.token)).code, 2, 'a missing answer off a terminal is a usage error');

  const added = await cli(['faqs', 'add', '--question', 'What is the IT hotline?', '--answer', 'Call local 1234.', '--tag', 'phone,hotline', '--json'], admin.token);
  t.equal(added.code, 0, added.stderr);
  const faq = JSON.parse(added.stdout);
  t.same(faq.tags, ['phone', 'hotline']);

  const updated = await cli(['faqs', 'update', String(faq.id), '--answer', 'Call local 4321.', '--json'], admin.token);
  t.equal(JSON.parse(updated.stdout).answer, 'Call local 4321.');
  t.equal((await cli(['faqs', 'update', String(faq.id)], admin.token)).code, 2, 'nothing to change');

  const shown = await cli(['faqs', 'show', String(faq.id)], employee.token);
  t.match(shown.stdout, /What is the IT hotline\?\tCall local 4321\./);

  t.equal((await cli(['faqs', 'remove', String(faq.id)], admin.token)).code, 2, 'no confirmation off a terminal without --yes');
  t.equal((await cli(['faqs', 'remove', String(faq.id), '--yes'], admin.token)).code, 0);
  t.equal((await cli(['faqs', 'show', String(faq.id)], employee.token)).code, 4);
});

// ─── interactive session, in-process with an injected prompter ─────────────

function capture(): Writable & { text: string; isTTY: boolean } {
  const w = new Writable({
    write(chunk, _enc, cb) {
      w.text += String(chunk);
      cb();
    },
  }) as Writable & { text: string; isTTY: boolean };
  w.text = '';
  w.isTTY = false;
  return w;
}

function scriptedPrompter(lines: (string | Error)[], seen: string[]): Prompter {
  const fail = () => Promise.reject(new Error('unexpected prompt'));
  return {
    async input(opts) {
      seen.push(opts.message);
      const next = lines.shift();
      if (next === undefined) throw Object.assign(new Error('User force closed the prompt'), { name: 'ExitPromptError' });
      if (next instanceof Error) throw next;
      return next;
    },
    password: fail,
    confirm: fail,
    select: fail,
    checkbox: fail,
  };
}

async function interactive(lines: (string | Error)[], tty = true) {
  process.env.XDG_CONFIG_HOME = xdg;
  const stdout = Object.assign(capture(), { isTTY: tty });
  const stderr = capture();
  const seen: string[] = [];
  const stdin = Object.assign(new PassThrough(), { isTTY: tty });
  const code = await run(['node', 'smartsupport', 'chat'], {
    io: { stdin, stdout, stderr, env: { SMARTSUPPORT_URL: ta.url, SMARTSUPPORT_TOKEN: employee.token, NO_COLOR: '1' } },
    prompter: scriptedPrompter(lines, seen),
  });
  return { code, stdout: stdout.text, stderr: stderr.text, seen };
}

t.test('chat with no argument on a terminal continues one conversation until an empty line', async (t) => {
  const r = await interactive(['Who is the CEO of MAP Active Philippines?', 'Where is the office located?', '', 'never asked']);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.seen.length, 3, 'stops at the empty line');
  t.match(r.stdout, CEO);
  t.match(r.stdout, OFFICE_PART);
  const id = Number(/conversation (\d+)/.exec(r.stderr)?.[1]);
  const conv = await ta.api.get(`/api/chat/${id}/`, { token: employee.token });
  t.same(conv.body.messages.filter((m: { role: string }) => m.role === 'user').map((m: { content: string }) => m.content), ['Who is the CEO of MAP Active Philippines?', 'Where is the office located?'], 'both questions in one conversation');
});

t.test('a prompter alone is no terminal: off one, chat without a question is still a usage error', async (t) => {
  const r = await interactive(['Who is the CEO of MAP Active Philippines?'], false);
  t.equal(r.code, 2, r.stderr);
  t.same(r.seen, [], 'nothing was asked');
});

t.test('the interactive session ends cleanly on Ctrl-D', async (t) => {
  const r = await interactive(['Who is the CEO?']); // then the prompt is closed
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, CEO);
});
