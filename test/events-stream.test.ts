/**
 * The live stream: Last-Event-ID resume loses nothing, a slow consumer is cut with a resumable id
 * (bounded memory), a per-caller limit, heartbeats, and two API processes on one database — an event
 * written through one reaches a stream on the other (LISTEN/NOTIFY). Needs the build (`npm run build`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import t from 'tap';
import { appDatabaseEnv, createEmployee, startTestApp, TEST_JWT_SECRET, tokenFor } from './helpers/harness.js';
import { waitFor } from './helpers/outbound.js';
import { openSse } from './helpers/sse.js';
import { streamsOpen } from '../src/features/events/stream.js';

const bin = path.resolve('bin/smartsupport');
const ENV = { EVENT_STREAM_HEARTBEAT_MS: '100', EVENT_STREAM_MAX_PER_CALLER: '2', EVENT_STREAM_BUFFER_EVENTS: '5', EVENT_STREAM_STALL_MS: '1500' };
const ta = await startTestApp(t, { env: ENV });
const admin = await createEmployee(ta.db, { role: 'System Admin' });
const token = await tokenFor(ta.app, admin);
const auth = { Authorization: `Bearer ${token}` };
const streamUrl = (base = ta.url, q = '') => `${base}/api/events/stream/${q}`;

let n = 0;
const faq = (base = ta.url) =>
  fetch(`${base}/api/faqs/`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ question: `Stream question ${++n}?`, answer: 'A.' }) }).then(async (r) => {
    if (r.status !== 201) throw new Error(`faq ${r.status}`);
    return (await r.json()) as { id: number };
  });

t.test('resume with Last-Event-ID loses nothing and repeats nothing', async (t) => {
  const first = await openSse(streamUrl(ta.url, '?type=faq.*'), auth);
  await waitFor(async () => first.comments > 0, 'connected');
  const made: string[] = [];
  for (let i = 0; i < 5; i++) made.push(String((await faq()).id));
  await waitFor(async () => first.events().length >= 2, 'two events');
  const seen = first.events().slice(0, 2);
  const lastId = first.messages.filter((m) => !m.event)[1]!.id!;
  first.close();
  for (let i = 0; i < 5; i++) made.push(String((await faq()).id));
  const second = await openSse(streamUrl(ta.url, '?type=faq.*'), { ...auth, 'Last-Event-ID': lastId });
  t.teardown(() => second.close());
  await waitFor(async () => second.events().length >= 8, 'the rest after resuming');
  const all = [...seen, ...second.events()].map((e) => e.object.id);
  t.same(all, made, 'every event exactly once, in order');
  t.ok(second.messages.every((m) => !m.event || m.event === 'cut'));
});

t.test('heartbeats keep an idle stream alive', async (t) => {
  const s = await openSse(streamUrl(), auth);
  t.teardown(() => s.close());
  await waitFor(async () => s.comments >= 4, 'heartbeat comments (EVENT_STREAM_HEARTBEAT_MS)');
  t.equal(s.events().length, 0);
});

t.test('at most EVENT_STREAM_MAX_PER_CALLER streams per caller', async (t) => {
  const a = await openSse(streamUrl(), auth);
  const b = await openSse(streamUrl(), auth);
  t.equal(a.status, 200);
  t.equal(b.status, 200);
  const c = await openSse(streamUrl(), auth);
  t.equal(c.status, 429);
  t.match(JSON.parse(c.body), { code: 'too_many_streams' });
  a.close();
  // the slot is freed when the server sees the disconnect
  const d = await waitFor(async () => {
    const s = await openSse(streamUrl(), auth);
    if (s.status === 200) return s;
    return undefined;
  }, 'a slot again');
  d.close();
  b.close();
});

t.test('a consumer that stops reading is cut off with a resumable id, and resuming loses nothing', async (t) => {
  await waitFor(async () => streamsOpen() === 0, 'earlier streams closed');
  // a client that connects and does not read (paused socket)
  const paused = await new Promise<http.IncomingMessage>((resolve, reject) => {
    http.get(streamUrl(ta.url, '?type=faq.created'), { headers: auth }, resolve).on('error', reject);
  });
  paused.pause();
  await waitFor(async () => (await ta.db.raw(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'smartsupport-listen'`)).rows[0].n >= 1, 'listening');
  // 4,000 events of ~4 KiB: far more than the socket buffers hold
  const big = 'x'.repeat(4000);
  const before = (await ta.db('events').max({ m: 'seq' }))[0]!.m ?? 0;
  await ta.db.raw(
    `INSERT INTO events (type, object_type, object_id, visibility, scope, data) SELECT 'faq.created', 'faq', 'bulk-' || g, 'all', NULL, jsonb_build_object('object', jsonb_build_object('pad', ?::text, 'n', g)) FROM generate_series(1, 4000) g`,
    [big],
  );
  const ids = (await ta.db('events').where('seq', '>', before).orderBy([{ column: 'txid' }, { column: 'seq' }]).select('object_id')).map((r) => r.object_id as string);
  t.equal(ids.length, 4000);
  // the server gives up on the reader (no progress for EVENT_STREAM_STALL_MS) and closes its stream
  await waitFor(async () => streamsOpen() === 0, 'the stalled stream was cut', 60_000);
  // now read what the server wrote before cutting the connection
  paused.setEncoding('utf8');
  let text = '';
  paused.on('data', (c: string) => (text += c));
  paused.resume();
  await new Promise((r) => paused.on('end', r));
  const cut = /event: cut\ndata: (.*)\n\n$/.exec(text);
  t.ok(cut, 'the stream ends with a cut message');
  const info = JSON.parse(cut![1]!) as { reason: string; resume_from: string };
  t.equal(info.reason, 'slow_consumer');
  const got = [...text.matchAll(/^id: (evt_\w+)\ndata: (.*)$/gm)].map((m) => ({ id: m[1]!, object: (JSON.parse(m[2]!) as { object: { id: string } }).object.id }));
  t.ok(got.length > 0 && got.length < 4000, `cut after ${got.length} of 4000 events`);
  t.equal(info.resume_from, got[got.length - 1]!.id, 'resume_from is the last event written');
  t.same(got.map((g) => g.object), ids.slice(0, got.length), 'what arrived is a prefix of the log');
  // resume from there: the rest, in order
  const rest = await openSse(streamUrl(ta.url, '?type=faq.created'), { ...auth, 'Last-Event-ID': info.resume_from });
  t.teardown(() => rest.close());
  t.equal(rest.status, 200, rest.body);
  await waitFor(async () => rest.events().length >= 4000 - got.length, `the rest (${rest.events().length} so far)`, 60_000);
  t.same(rest.events().map((e) => e.object.id), ids.slice(got.length), 'nothing lost across the cut');
});

t.test('two API processes on one database: an event from either reaches a stream on the other', async (t) => {
  const child: ChildProcess = spawn(process.execPath, [bin, 'serve'], {
    env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'info', PORT: '0', HOST: '127.0.0.1', RUN_WORKER: 'false', ...appDatabaseEnv(ta.app), SMARTSUPPORT_DATA_DIR: ta.dataDir, JWT_SECRET: TEST_JWT_SECRET, SMTP_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => void child.kill('SIGKILL'));
  let out = '';
  const otherUrl = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /"url":"(http:\/\/[^"]+)".*SmartSupport is listening/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.stderr!.on('data', (d) => (out += d));
    child.on('exit', () => reject(new Error(`exited before listening: ${out}`)));
  });
  const onB = await openSse(streamUrl(otherUrl, '?type=faq.*'), auth);
  const onA = await openSse(streamUrl(ta.url, '?type=faq.*'), auth);
  t.teardown(() => {
    onA.close();
    onB.close();
  });
  await waitFor(async () => onA.comments > 0 && onB.comments > 0, 'both connected');
  const viaA = await faq(ta.url);
  await waitFor(async () => onB.events().some((e) => e.object.id === String(viaA.id)), 'the event written through A reached the stream on B');
  const viaB = await faq(otherUrl);
  await waitFor(async () => onA.events().some((e) => e.object.id === String(viaB.id)), 'the event written through B reached the stream on A');
  await waitFor(async () => onB.events().some((e) => e.object.id === String(viaB.id)), 'and its own stream');
  t.same(onB.events().map((e) => e.object.id), [String(viaA.id), String(viaB.id)]);
  t.same(onA.events().map((e) => e.object.id), [String(viaA.id), String(viaB.id)]);
});
