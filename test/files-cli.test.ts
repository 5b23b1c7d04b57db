/**
 * CLI verbs for files: `attachments download` (the built binary, as users run it), and the
 * `tickets attach` / `profile upload-image` verbs registered on stand-in nouns in-process (their nouns
 * are built by other features), including the progress bar on a terminal.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { Command } from 'commander';
import sharp from 'sharp';
import t from 'tap';
import { Factory } from '../src/cli/factory.js';
import { registerUploadImage } from '../src/cli/profile/upload-image.js';
import { registerAttach } from '../src/cli/tickets/attach.js';
import { createTicket, jpeg, pdf, zip } from './helpers/files.js';
import { signedIn, startTestApp } from './helpers/harness.js';

const run = promisify(execFile);
const bin = path.resolve(import.meta.dirname, '..', 'bin', 'smartsupport');
const ta = await startTestApp(t);
const owner = await signedIn(ta, { role: 'Employee' });
const other = await signedIn(ta, { role: 'Employee' });
const ticket = await createTicket(ta.db, owner.user.id);
const work = await mkdtemp(path.join(os.tmpdir(), 'ss-files-cli-'));
const env = { ...process.env, SMARTSUPPORT_URL: ta.url, XDG_CONFIG_HOME: path.join(work, 'cfg'), NO_COLOR: '1' };

class Sink extends Writable {
  text = '';
  constructor(readonly isTTY: boolean) {
    super();
  }
  override _write(chunk: Buffer, _enc: string, cb: () => void) {
    this.text += chunk.toString();
    cb();
  }
}

/** Run a verb registered on a stand-in noun, in-process, with the given token and TTY-ness. */
async function runVerb(register: (noun: Command, f: () => Factory) => void, nounName: string, args: string[], token: string, tty = false) {
  const stdout = new Sink(false);
  const stderr = new Sink(tty);
  const io = { stdin: process.stdin, stdout, stderr, env: { ...env, SMARTSUPPORT_TOKEN: token } };
  const program = new Command('smartsupport').exitOverride();
  const noun = program.command(nounName).exitOverride();
  let f: Factory | undefined;
  register(noun, () => (f ??= new Factory({}, io)));
  for (const c of noun.commands) c.exitOverride();
  await program.parseAsync(['node', 'smartsupport', nounName, ...args]);
  return { stdout: stdout.text, stderr: stderr.text };
}

let attachmentId = 0;

t.test('tickets attach uploads files with a progress bar on a terminal', async (t) => {
  const small = path.join(work, 'report.pdf');
  await writeFile(small, pdf());
  const big = path.join(work, 'logs.zip');
  await writeFile(big, zip('logs.bin', Buffer.alloc(2 * 1024 * 1024, 7)));
  const out = await runVerb(registerAttach, 'tickets', ['attach', ticket.ticket_number, small, big, '--json'], owner.token, true);
  const rows = JSON.parse(out.stdout);
  t.equal(rows.length, 2);
  t.match(rows[0], { file_name: 'report.pdf', file_type: 'application/pdf', file_size: pdf().length });
  t.match(rows[1], { file_name: 'logs.zip', file_type: 'application/zip' });
  t.match(out.stderr, /100%/, 'progress reached 100%');
  t.match(out.stderr, /\[#+\]/);
  attachmentId = rows[0].id;

  const quiet = await runVerb(registerAttach, 'tickets', ['attach', String(ticket.id), small], owner.token, false);
  t.equal(quiet.stderr, '', 'no progress bar off a terminal');
  t.match(quiet.stdout, /report\.pdf\tapplication\/pdf/);

  await t.rejects(runVerb(registerAttach, 'tickets', ['attach', ticket.ticket_number, small], other.token), { name: 'ApiError', status: 404 });
  await t.rejects(runVerb(registerAttach, 'tickets', ['attach', ticket.ticket_number, path.join(work, 'missing.pdf')], owner.token), /not a readable file/);
});

t.test('attachments download streams to a file and refuses to overwrite', async (t) => {
  const target = path.join(work, 'out.pdf');
  const e = { ...env, SMARTSUPPORT_TOKEN: owner.token };
  const first = await run('node', [bin, 'attachments', 'download', String(attachmentId), '-o', target], { env: e });
  t.match(first.stderr, /saved/);
  t.ok((await readFile(target)).equals(pdf()), 'the exact bytes');

  const again = await run('node', [bin, 'attachments', 'download', String(attachmentId), '-o', target], { env: e }).catch((err: { code: number; stderr: string }) => err);
  t.equal((again as { code: number }).code, 1, 'refuses to overwrite');
  t.match((again as { stderr: string }).stderr, /exists; use --force/);

  await writeFile(target, 'old');
  await run('node', [bin, 'attachments', 'download', String(attachmentId), '-o', target, '--force'], { env: e });
  t.ok((await readFile(target)).equals(pdf()), 'overwritten with --force');

  const cwd = await mkdtemp(path.join(work, 'dl-'));
  const named = await run('node', [bin, 'attachments', 'download', String(attachmentId)], { env: e, cwd });
  t.match(named.stderr, /report\.pdf/, 'defaults to the attachment name');
  t.ok((await readFile(path.join(cwd, 'report.pdf'))).equals(pdf()));

  const denied = await run('node', [bin, 'attachments', 'download', String(attachmentId), '-o', path.join(work, 'x.pdf')], { env: { ...env, SMARTSUPPORT_TOKEN: other.token } }).catch((err: { code: number }) => err);
  t.equal((denied as { code: number }).code, 4, 'not found for another employee');
});

t.test('profile upload-image', async (t) => {
  const file = path.join(work, 'me.jpg');
  await writeFile(file, await jpeg(800, 600, true));
  const out = await runVerb(registerUploadImage, 'profile', ['upload-image', file, '--json'], owner.token);
  const body = JSON.parse(out.stdout);
  t.match(body.image, /^employee_images\/[0-9a-f]{32}\.webp$/);
  const stored = await readFile(path.join(ta.dataDir, 'media', body.image));
  const meta = await sharp(stored).metadata();
  t.equal(meta.width, 1024);
  t.equal(meta.height, 1024);

  const target = path.join(work, 'me.webp');
  await run('node', [bin, 'attachments', 'media', body.image, '-o', target], { env: { ...env, SMARTSUPPORT_TOKEN: owner.token } });
  t.ok((await readFile(target)).equals(stored), 'attachments media downloads the stored file');
  const denied = await run('node', [bin, 'attachments', 'media', body.image, '-o', path.join(work, 'x.webp')], { env: { ...env, SMARTSUPPORT_TOKEN: other.token } }).catch((err: { code: number }) => err);
  t.equal((denied as { code: number }).code, 4, "another employee's image is not found");
});
