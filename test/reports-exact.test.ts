/**
 * The time report computes its groups, total and histogram in one ROLLUP pass (src/features/reports/
 * ticket-reports.ts): on randomized tickets — ties, nulls, empty groups, every grouping and filter —
 * each figure must equal the from-scratch SQL over the base table (one percentile_cont per group,
 * one over the period, a width_bucket count), also after concurrent ticket updates. The backlog
 * (one range count per bucket, walked back from the open count) must equal a replay of every
 * ticket's status history at each bucket's end, with filters, weekly buckets and a bounded period.
 */
import t from 'tap';
import type { Knex } from 'knex';
import { TIME_BUCKETS } from '../src/features/reports/ticket-reports.js';
import { createEmployee, signedIn, startTestApp } from './helpers/harness.js';

const KEY: Record<string, string> = {
  none: `'all'`,
  category: 't.category',
  department: 't.department',
  priority: 't.priority',
  status: 't.status',
  assignee: `CASE WHEN t.assigned_to IS NULL THEN '(unassigned)' ELSE (SELECT a.company_id || ' ' || a.first_name || ' ' || a.last_name FROM employees a WHERE a.id = t.assigned_to) END`,
};

async function fromScratch(db: Knex, column: string, at: string, since: string, until: string, by: string, category?: string) {
  const where = `t.${at} >= ? AND t.${at} < ? AND t.${column} IS NOT NULL${category ? ' AND t.category = ?' : ''}`;
  const b = [since, until, ...(category ? [category] : [])];
  const dist = (r: { count: number; pct: number[] | null }) => ({ count: r.count, p50: r.pct?.[0] === undefined || r.pct[0] === null ? null : Number(r.pct[0]), p90: r.pct?.[1] === undefined || r.pct[1] === null ? null : Number(r.pct[1]) });
  const overall = (await db.raw(`SELECT count(*)::int AS count, percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY t.${column}) AS pct FROM tickets t WHERE ${where}`, b)).rows[0];
  const groups = (await db.raw(`SELECT ${KEY[by]} AS key, count(*)::int AS count, percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY t.${column}) AS pct FROM tickets t WHERE ${where} GROUP BY 1`, b)).rows;
  const hist = (await db.raw(`SELECT width_bucket(t.${column}, ARRAY[${TIME_BUCKETS.join(',')}]::int[]) AS b, count(*)::int AS n FROM tickets t WHERE ${where} GROUP BY 1`, b)).rows as { b: number; n: number }[];
  return {
    overall: dist(overall),
    groups: new Map((groups as { key: string; count: number; pct: number[] }[]).map((g) => [g.key ?? '(none)', dist(g)])),
    histogram: TIME_BUCKETS.map((_, i) => hist.find((h) => h.b === i + 1)?.n ?? 0),
  };
}

t.test('the time report equals the from-scratch SQL on randomized tickets, also after concurrent updates', async (t) => {
  const ta = await startTestApp(t);
  const coord = await signedIn(ta, { role: 'Ticket Coordinator' });
  const owner = await createEmployee(ta.db);
  const staff = await Promise.all(Array.from({ length: 4 }, () => createEmployee(ta.db, { role: 'Ticket Coordinator' })));
  // fixed seed: generate_series with a deterministic hash; ties (coarse values), nulls, future and past rows
  await ta.db.raw(
    `INSERT INTO tickets (employee_id, subject, category, sub_category, description, priority, department, status, assigned_to,
                          submit_date, approved_at, response_time, resolved_at, resolution_time)
     SELECT ?, 'exact ' || g, (ARRAY['Hardware','Software','Network'])[1 + h % 3], 'Other', 'x', (ARRAY['Critical','High','Medium','Low'])[1 + (h / 3) % 4],
            (ARRAY['IT Department','Asset Department'])[1 + (h / 7) % 2], (ARRAY['Open','Resolved','Closed','In Progress'])[1 + (h / 11) % 4],
            CASE WHEN h % 5 = 0 THEN NULL ELSE (?::bigint[])[1 + (h / 13) % 4] END,
            sub, sub + ((h % 97) * 300) * interval '1 second', CASE WHEN h % 17 = 0 THEN NULL ELSE (h % 97) * 300 END,
            CASE WHEN h % 3 > 0 THEN sub + ((h / 5) % 700000) * interval '1 second' END, CASE WHEN h % 3 > 0 AND h % 19 > 0 THEN (h / 5) % 700000 END
       FROM (SELECT g, abs(hashint4(g)) AS h, now() - (abs(hashint4(g * 7)) % (40 * 86400)) * interval '1 second' AS sub FROM generate_series(1, 4000) g) s`,
    [owner.id, staff.map((s) => s.id)],
  );
  const compare = async (label: string) => {
    for (const by of Object.keys(KEY)) {
      for (const category of [undefined, 'Network']) {
        const r = await ta.api.get('/api/reports/tickets/times/', { token: coord.token, query: { by, ...(category ? { category } : {}) } });
        t.equal(r.status, 200);
        for (const [name, column, at] of [['first_response', 'response_time', 'approved_at'], ['resolution', 'resolution_time', 'resolved_at']] as const) {
          const want = await fromScratch(ta.db, column, at, r.body.since, r.body.until, by, category);
          const what = `${label}: by=${by}${category ? ', category=Network' : ''}, ${name}`;
          t.same(r.body.overall[name], want.overall, `${what}: overall`);
          t.same(r.body.histograms[name].map((h: { count: number }) => h.count), want.histogram, `${what}: histogram`);
          if (by === 'none') t.same(r.body.groups, [], `${what}: no groups`);
          else {
            const got = new Map((r.body.groups as { key: string; [k: string]: unknown }[]).filter((g) => (g[name] as { count: number }).count > 0).map((g) => [g.key, g[name]]));
            t.same(Object.fromEntries(got), Object.fromEntries(want.groups), `${what}: groups`);
          }
        }
      }
    }
  };
  await compare('randomized');
  // concurrent writers resolve, reassign and recategorise tickets while reports are read
  const ids = (await ta.db('tickets').select('id').orderBy('id')).map((r: { id: string }) => Number(r.id));
  const writers = Array.from({ length: 6 }, (_, w) =>
    (async () => {
      for (let i = 0; i < 20; i++) {
        const id = ids[(w * 211 + i * 37) % ids.length]!;
        await ta.db('tickets').where({ id }).update({ category: ['Hardware', 'Network'][i % 2], assigned_to: staff[(w + i) % 4]!.id, resolved_at: ta.db.fn.now(), resolution_time: (i * 1000 + w) % 5000, response_time: i % 3 ? i * 60 : null });
      }
    })(),
  );
  const readers = Array.from({ length: 8 }, () => ta.api.get('/api/reports/tickets/times/', { token: coord.token, query: { by: 'category' } }).then((r) => t.equal(r.status, 200)));
  await Promise.all([...writers, ...readers]);
  await compare('after concurrent updates');
});

t.test('unanswered chat questions (one window sort) equal the two-window SQL on randomized conversations', async (t) => {
  const ta = await startTestApp(t);
  const emp = await createEmployee(ta.db);
  // 300 conversations of 1–4 turns, a third escalated; answers cite an FAQ or not; ties in created_at
  await ta.db.raw(
    `WITH c AS (
       INSERT INTO chat_conversations (employee_id, created_at, escalated_at)
       SELECT ?, now() - (abs(hashint4(g)) % 20) * interval '1 day', CASE WHEN g % 3 = 0 THEN now() END FROM generate_series(1, 300) g RETURNING id, created_at)
     INSERT INTO chat_messages (conversation_id, role, content, provider, sources, created_at)
     SELECT c.id, r.role, CASE WHEN r.role = 'user' THEN 'question ' || (abs(hashint4(c.id::int * 10 + k)) % 9) || ' about vpn' ELSE 'answer' END,
            CASE WHEN r.role = 'assistant' THEN 'faq' END,
            CASE WHEN r.role = 'assistant' AND abs(hashint4(c.id::int * 10 + k)) % 2 = 0 THEN '{1}'::bigint[] ELSE '{}' END,
            c.created_at + (k / 2) * interval '1 minute'
       FROM c CROSS JOIN generate_series(0, 7) k CROSS JOIN LATERAL (SELECT CASE WHEN k % 2 = 0 THEN 'user' ELSE 'assistant' END AS role) r
      WHERE k < 2 * (1 + abs(hashint4(c.id::int)) % 4)
      ORDER BY c.id, k`,
    [emp.id],
  );
  const { unansweredQuestions } = await import('../src/features/reports/chat-reports.js');
  const since = new Date(Date.now() - 30 * 86_400_000);
  const until = new Date(Date.now() + 60_000);
  const old = (await ta.db.raw(
    `SELECT s.content, tsvector_to_array(coalesce(s.question_tsv, to_tsvector('english', s.content))) AS lexemes, s.created_at
       FROM (SELECT m.role, m.content, m.question_tsv, m.created_at, m.conversation_id, m.id,
                    lead(m.sources) OVER w AS answer_sources, lead(m.role) OVER w AS next_role,
                    row_number() OVER (PARTITION BY m.conversation_id, m.role ORDER BY m.id) AS nth
               FROM chat_messages m WHERE m.created_at >= ? AND m.created_at < ?
             WINDOW w AS (PARTITION BY m.conversation_id ORDER BY m.id)) s
       JOIN chat_conversations c ON c.id = s.conversation_id
      WHERE s.role = 'user' AND ((s.next_role = 'assistant' AND cardinality(s.answer_sources) = 0) OR (c.escalated_at IS NOT NULL AND s.nth = 1))`,
    [since, until],
  )).rows as { content: string; created_at: Date }[];
  const got = await unansweredQuestions(ta.db, since, until);
  // the same multiset of questions (the LIMIT is not reached; order among equal created_at is free)
  const key = (r: { content: string; created_at: Date }) => `${r.created_at.toISOString()} ${r.content}`;
  t.ok(old.length > 50, `a real sample (${old.length} questions)`);
  t.same(got.map(key).sort(), old.map(key).sort());
});

t.test('the backlog (per-bucket range counts, walked back from the open count) equals a replay of every ticket’s history', async (t) => {
  const ta = await startTestApp(t);
  const coord = await signedIn(ta, { role: 'Ticket Coordinator' });
  const owner = await createEmployee(ta.db);
  const staff = await Promise.all(Array.from({ length: 3 }, () => createEmployee(ta.db, { role: 'Ticket Coordinator' })));
  const OPEN = ['New', 'Open', 'In Progress', 'On Hold', 'Pending'];
  const FINAL = ['Resolved', 'Closed', 'Rejected', 'Withdrawn'];
  // deterministic pseudo-random (mulberry32)
  let seed = 20261202;
  const rnd = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const now = Date.now() - 60_000;
  const DAY = 86_400_000;
  for (let batch = 0; batch < 3; batch++) {
    const tickets: Record<string, unknown>[] = [];
    const histories: { at: number; from: string; to: string }[][] = [];
    for (let i = 0; i < 400; i++) {
      // submitted up to 45 days back, so some tickets predate the 30-day period; some at exact midnights
      const submit = rnd() < 0.05 ? Math.floor(now / DAY - Math.floor(rnd() * 40)) * DAY : now - Math.floor(rnd() * 45 * DAY);
      let status = 'New';
      let at = submit;
      const h: { at: number; from: string; to: string }[] = [];
      for (let k = Math.floor(rnd() * 5); k > 0; k--) {
        at += Math.floor(rnd() * 6 * DAY);
        if (at >= now) break;
        // a move within the open set, out of it, back into it, or within the final set
        const to = OPEN.includes(status) ? (rnd() < 0.6 ? pick(FINAL) : pick(OPEN)) : rnd() < 0.5 ? pick(OPEN) : pick(FINAL);
        if (to === status) continue;
        h.push({ at, from: status, to });
        status = to;
      }
      tickets.push({
        employee_id: owner.id, subject: `backlog ${batch}/${i}`, category: pick(['Hardware', 'Software', 'Network']), sub_category: 'Other', description: 'x',
        priority: pick(['High', 'Low']), department: pick(['IT Department', 'Asset Department']), status,
        assigned_to: rnd() < 0.2 ? null : pick(staff).id, submit_date: new Date(submit),
      });
      histories.push(h);
    }
    const ids = (await ta.db('tickets').insert(tickets).returning('id')).map((r: { id: string }) => Number(r.id));
    const rows = histories.flatMap((h, i) => h.map((e) => ({ ticket_id: ids[i], event: 'status_changed', field: 'status', from_value: e.from, to_value: e.to, created_at: new Date(e.at) })));
    if (rows.length) await ta.db.batchInsert('ticket_history', rows, 500);
  }
  // open at instant E: submitted before E, and its last status change before E left it open (a ticket starts New)
  const openAt = async (end: string, where: string, b: (string | number)[]) =>
    Number((await ta.db.raw(
      `SELECT count(*)::int AS n FROM tickets t
        WHERE t.submit_date < ?${where}
          AND coalesce((SELECT h.to_value FROM ticket_history h WHERE h.ticket_id = t.id AND h.event = 'status_changed' AND h.created_at < ?
                         ORDER BY h.created_at DESC, h.id DESC LIMIT 1), 'New') IN ('${OPEN.join("', '")}')`,
      [end, ...b, end],
    )).rows[0].n);
  const cases: [Record<string, string>, string, (string | number)[]][] = [
    [{}, '', []],
    [{ category: 'Network' }, ' AND t.category = ?', ['Network']],
    [{ assigned_to: String(staff[1]!.id), priority: 'High' }, ' AND t.priority = ? AND t.assigned_to = ?', ['High', staff[1]!.id]],
    [{ interval: 'week', since: new Date(now - 40 * DAY).toISOString().slice(0, 10) }, '', []],
    [{ since: new Date(now - 20 * DAY).toISOString(), until: new Date(now - 5 * DAY - 3_600_000).toISOString() }, '', []],
  ];
  for (const [query, where, b] of cases) {
    const r = await ta.api.get('/api/reports/tickets/backlog/', { token: coord.token, query });
    t.equal(r.status, 200, r.text);
    const step = r.body.interval === 'week' ? 7 * DAY : DAY;
    const want: number[] = [];
    for (let i = 0; i < r.body.buckets.length; i++) {
      const end = i === r.body.buckets.length - 1 ? r.body.until : new Date(new Date(`${r.body.buckets[i]}T00:00:00Z`).getTime() + step).toISOString();
      want.push(await openAt(end, where, b));
    }
    t.same(r.body.values, want, `backlog ${JSON.stringify(query)}`);
    t.equal(r.body.open_now, await openAt(new Date(Date.now() + 1000).toISOString(), where, b), `open now ${JSON.stringify(query)}`);
  }
});
