/**
 * Third-party generated clients driving the real server. `node .ci/clients/generate.mjs` (CI, .ci/run)
 * writes clients with six generators into .ci/clients/out/; for @hey-api/openapi-ts and orval a flow
 * written only against the generated code (.ci/clients/flows/*.ts) runs register with an image →
 * approve → login → ticket with an attachment → paging by `next_cursor` → comment → claim with
 * If-Match → history → chat → logout against a real server and a real chat-completions stub.
 * The flows are type-checked under tsc --strict and must hold no casts and no hand-written requests.
 *
 * Needs the generators' packages and their output, so it runs when SS_REQUIRE_GENERATED_CLIENTS=1
 * (.ci/run sets it after generate.mjs) and skips with a message otherwise.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import t from 'tap';
import { packageRoot } from '../../src/lib/paths.js';
import { signedIn, startTestApp } from '../helpers/harness.js';

const run = promisify(execFile);
const clients = path.join(packageRoot, '.ci', 'clients');
const FLOWS = { 'hey-api': path.join(clients, 'flows', 'hey-api.ts'), orval: path.join(clients, 'flows', 'orval.ts') };
const OUTPUTS = { 'hey-api': path.join(clients, 'out', 'hey-api', 'index.ts'), orval: path.join(clients, 'out', 'orval', 'client.ts') };

if (process.env.SS_REQUIRE_GENERATED_CLIENTS !== '1') {
  t.skip('generated clients: set SS_REQUIRE_GENERATED_CLIENTS=1 after `cd .ci/clients && npm ci && node generate.mjs` (CI does)', () => {});
} else if ((await generationDone()) !== 'ok') {
  t.fail(`the clients were not generated (${process.env.SS_GENERATED_CLIENTS_DONE}): see the contract checks' output in the CI log`);
} else {
  await main();
}

/**
 * .ci/run generates the clients beside the test passes and names a file in SS_GENERATED_CLIENTS_DONE
 * that it writes `ok` (or `failed`) into when generation ends: wait for it (15 minutes at most).
 * Without that variable the clients are taken to be generated already.
 */
async function generationDone(): Promise<string> {
  const marker = process.env.SS_GENERATED_CLIENTS_DONE;
  if (!marker) return 'ok';
  t.setTimeout(20 * 60_000); // the wait below, beyond the per-file timeout in .taprc
  for (const until = Date.now() + 15 * 60_000; Date.now() < until; await new Promise((r) => setTimeout(r, 1000))) {
    const state = (await readFile(marker, 'utf8').catch(() => '')).trim();
    if (state) return state;
  }
  return 'timed out';
}

/** Code with comments and string/template literals blanked, so prose like "as a third party" is not a cast. */
function codeOnly(src: string): string {
  return src
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/\/\/[^\n]*/g, ' ')
    .replace(/'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|`(?:\\.|[^`\\])*`/g, "''");
}

/** Casts and escape hatches a flow must not use. */
function castsIn(src: string): string[] {
  const code = codeOnly(src);
  const found: string[] = [];
  if (/\bas\s+(?!const\b)[A-Za-z_{[(]/.test(code)) found.push('`as` cast');
  if (/<\s*(any|unknown|[A-Z]\w*)\s*>\s*[\w(]/.test(code)) found.push('<T>value cast');
  if (/@ts-(ignore|expect-error|nocheck)/.test(src)) found.push('@ts- directive');
  if (/\bany\b/.test(code)) found.push('any');
  if (/[\w)\]]!(?=[.;,)\]\s])/.test(code)) found.push('non-null assertion');
  return found;
}

/** Requests not made through the generated client. */
function handWrittenRequestsIn(src: string): string[] {
  const code = codeOnly(src);
  const calls = ['fetch(', 'new FormData', 'XMLHttpRequest', 'new Request('].filter((s) => code.includes(s));
  const imports = [...src.matchAll(/from\s+['"](node:https?|https?|axios|undici|got|ky|node-fetch)['"]/g)].map((m) => `import ${m[1]}`);
  return [...calls, ...imports];
}

async function main(): Promise<void> {
  t.test('the cast and hand-written-request checks are not vacuous', async (t) => {
    t.same(castsIn('const x = y as Foo;'), ['`as` cast']);
    t.same(castsIn('const x = <any>y;'), ['<T>value cast', 'any']);
    t.same(castsIn('// @ts-expect-error\nconst x = 1;'), ['@ts- directive']);
    t.same(castsIn('const x = y!.z;'), ['non-null assertion']);
    t.same(castsIn("// exactly as a third party writes it\nconst s = 'as a string';\nif (a !== b) {}"), []);
    t.same(handWrittenRequestsIn("await fetch('/api/tickets/');"), ['fetch(']);
    t.same(handWrittenRequestsIn("import http from 'node:http';"), ['import node:http']);
  });

  for (const [name, file] of Object.entries(FLOWS)) {
    t.test(`${name} flow: no casts, no hand-written requests`, async (t) => {
      const src = await readFile(file, 'utf8');
      t.same(castsIn(src), [], `${path.relative(packageRoot, file)} has no casts`);
      t.same(handWrittenRequestsIn(src), [], `${path.relative(packageRoot, file)} sends requests only through the generated client`);
    });
  }

  t.test('the generated clients are there (node .ci/clients/generate.mjs)', async (t) => {
    for (const [name, file] of Object.entries(OUTPUTS)) t.ok(existsSync(file), `${name}: ${path.relative(packageRoot, file)}`);
  });

  t.test('the flows type-check against the generated clients under tsc --strict', async (t) => {
    const tsc = path.join(clients, 'node_modules', '.bin', 'tsc');
    const r = await run(tsc, ['-p', path.join(clients, 'flows', 'tsconfig.json')], { cwd: clients }).then(
      () => ({ ok: true, out: '' }),
      (err: { stdout?: string; stderr?: string }) => ({ ok: false, out: `${err.stdout ?? ''}${err.stderr ?? ''}` }),
    );
    t.ok(r.ok, `tsc --strict accepts flows/*.ts${r.ok ? '' : `:\n${r.out}`}`);
  });

  // a local server speaking the OpenAI chat-completions protocol (the model the chat answers with)
  const REPLY = 'Pick the MAP-Staff network and sign in with your company email.';
  const llmCalls: string[] = [];
  const llm = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      llmCalls.push(raw);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ id: 'cmpl-1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: REPLY }, finish_reason: 'stop' }] }));
    });
  });
  await new Promise<void>((r) => llm.listen(0, '127.0.0.1', r));
  t.teardown(async () => {
    llm.closeAllConnections();
    await new Promise((r) => llm.close(r));
  });
  const llmUrl = `http://127.0.0.1:${(llm.address() as AddressInfo).port}/v1`;

  const ta = await startTestApp(t, { env: { LLM_API_KEY: 'sk-test', LLM_API_URL: llmUrl, LLM_MODEL: 'test/model' } });
  const admin = await signedIn(ta, { role: 'System Admin' });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ss-generated-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const image = path.join(dir, 'face.png');
  await writeFile(image, await sharp({ create: { width: 64, height: 64, channels: 3, background: '#3366cc' } }).png().toBuffer());

  for (const [name, file] of Object.entries(FLOWS)) {
    t.test(`${name}: the end-to-end flow against the real server`, async (t) => {
      const before = llmCalls.length;
      const { stdout } = await run(process.execPath, ['--import', 'tsx', file], {
        cwd: packageRoot,
        env: { ...process.env, BASE_URL: ta.url, ADMIN_TOKEN: admin.token, IMAGE_FILE: image },
      }).catch((err: { stderr?: string; message?: string }) => {
        throw new Error(`the ${name} flow failed: ${err.stderr || err.message}`);
      });
      const r = JSON.parse(stdout.trim().split('\n').pop() ?? '{}');
      t.match(r.registered.company_id, /^MA\d{4,}$/, 'registered through the multipart-only operation');
      t.equal(r.registered.status, 'Pending');
      t.match(r.registered.image, /\.webp$/, 'the image was stored (resized to WebP)');
      t.equal(r.approved, 'Approved');
      t.same(r.attachment, ['image/png'], 'the attachment was uploaded');
      t.match(r.tickets[0], /^TX\d{4,}$/);
      t.same([...r.listed].sort(), [...r.tickets].sort(), 'paging by next_cursor found both tickets, each once');
      t.equal(r.pages, 2, 'one ticket a page');
      t.equal(r.comment, 'It still stops at the logo after two restarts.');
      t.match(r.etag, /^(W\/)?".+"$/, 'getTicket answered an ETag');
      t.equal(r.stale_claim, 412, 'a claim with a stale If-Match is refused');
      t.equal(r.claimed.status, 'In Progress');
      t.equal(r.claimed.assigned_to, admin.user.id, 'claimed by the caller');
      t.equal(r.claimed.attachments, 1);
      t.equal(r.claimed.comments, 1);
      t.ok(r.history.includes('created') && r.history.includes('status_changed') && r.history.includes('commented'), `history: ${r.history.join(', ')}`);
      t.same(r.chat, { provider: 'llm', answer: REPLY }, 'the chat answered through the model');
      t.ok(llmCalls.length > before, 'the model server was called');
      t.equal(r.logout, 204);
      t.equal(r.after_logout, 401, 'the access token stops working after logout');
    });
  }
}
