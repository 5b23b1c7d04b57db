/** The maintenance run purges expired sessions, reset tokens, idempotency records and stale temp files — and keeps live ones. */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { runMaintenance } from '../src/features/jobs/maintenance.js';
import { deadLetterOf, QUEUES } from '../src/jobs/queues.js';
import { createEmployee, startTestApp } from './helpers/harness.js';

const ta = await startTestApp(t);
const db = ta.db;
const e = await createEmployee(db);
const ago = (h: number) => db.raw(`now() - interval '${h} hours'`);
const ahead = (h: number) => db.raw(`now() + interval '${h} hours'`);

t.test('auth tokens', async (t) => {
  const live = randomUUID();
  const expired = randomUUID();
  const revokedLongAgo = randomUUID();
  await db('auth_sessions').insert([
    { id: live, employee_id: e.id, expires_at: ahead(24) },
    { id: expired, employee_id: e.id, expires_at: ago(1) },
    { id: revokedLongAgo, employee_id: e.id, expires_at: ahead(24), revoked_at: ago(48) },
  ]);
  await db('refresh_tokens').insert([
    { session_id: live, token_hash: 'h-live' },
    { session_id: expired, token_hash: 'h-expired' },
  ]);
  await db('password_reset_tokens').insert([
    { employee_id: e.id, token_hash: 'r-live', expires_at: ahead(1) },
    { employee_id: e.id, token_hash: 'r-used', expires_at: ahead(1), used_at: ago(0) },
    { employee_id: e.id, token_hash: 'r-old', expires_at: ago(1) },
  ]);
  const r = await runMaintenance(ta.app, 'auth-tokens');
  t.equal(r['auth-tokens'], 4, 'two sessions and two reset tokens removed');
  t.same((await db('auth_sessions').where({ employee_id: e.id }).pluck('id')).sort(), [live]);
  t.same(await db('refresh_tokens').pluck('token_hash'), ['h-live'], 'tokens of purged sessions go with them');
  t.same(await db('password_reset_tokens').pluck('token_hash'), ['r-live']);
});

t.test('idempotency records', async (t) => {
  await db('idempotency_keys').insert([
    { caller: 'user:1', key: 'fresh', request_hash: 'x', state: 'done' },
    { caller: 'user:1', key: 'stale', request_hash: 'x', state: 'done', expires_at: ago(1) },
  ]);
  const r = await runMaintenance(ta.app, 'idempotency-keys');
  t.equal(r['idempotency-keys'], 1);
  t.same(await db('idempotency_keys').pluck('key'), ['fresh']);
});

t.test('temp files: stale upload dirs and half-written media go, fresh ones stay', async (t) => {
  const dataDir = ta.app.config.dataDir;
  const stale = path.join(dataDir, 'tmp', 'abandoned-upload');
  const fresh = path.join(dataDir, 'tmp', 'upload-in-flight');
  const half = path.join(dataDir, 'media', 'ticket_attachments', 'doc.pdf.tmp-42');
  for (const d of [stale, fresh, path.dirname(half)]) await mkdir(d, { recursive: true });
  await writeFile(path.join(stale, 'part'), 'x');
  await writeFile(half, 'partial');
  const past = new Date(Date.now() - 2 * 3600_000);
  await utimes(stale, past, past);
  await utimes(half, past, past);
  const r = await runMaintenance(ta.app, 'tmp-files');
  t.equal(r['tmp-files'], 2);
  t.notOk(existsSync(stale), 'the abandoned upload dir is gone');
  t.notOk(existsSync(half), 'the half-written media file is gone');
  t.ok(existsSync(fresh), 'an upload younger than an hour is kept');
});

t.test('emails whose job was dead-lettered are recorded as failed; others stay queued', async (t) => {
  const [lost, waiting] = await db('notifications')
    .insert([
      { template: 'account_approved', recipient: 'lost@example.com', data: '{}' },
      { template: 'account_approved', recipient: 'waiting@example.com', data: '{}' },
    ])
    .returning('id');
  await ta.app.jobs.boss.send(deadLetterOf(QUEUES.email), { notificationId: Number(lost.id) });
  const r = await runMaintenance(ta.app, 'dead-lettered-emails');
  t.equal(r['dead-lettered-emails'], 1);
  t.same(await db('notifications').whereIn('id', [lost.id, waiting.id]).orderBy('id').pluck('status'), ['failed', 'queued']);
});

t.test('applied workflow callbacks are kept for 30 days, then purged', async (t) => {
  const tk = await db('tickets').insert({ employee_id: e.id, subject: 's', category: 'c', sub_category: 'x', description: 'd' }).returning('id');
  await db('workflow_callbacks').insert([
    { event_key: 'recent', ticket_id: tk[0].id, result: '{}', created_at: db.raw(`now() - interval '29 days'`) },
    { event_key: 'old', ticket_id: tk[0].id, result: '{}', created_at: db.raw(`now() - interval '31 days'`) },
  ]);
  const r = await runMaintenance(ta.app, 'workflow-callbacks');
  t.equal(r['workflow-callbacks'], 1);
  t.same(await db('workflow_callbacks').pluck('event_key'), ['recent']);
});
