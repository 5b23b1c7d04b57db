/**
 * Chat analytics: conversations and questions per bucket, how answers were produced, model
 * failovers, escalations, and the questions the FAQ did not answer — grouped by similarity of their
 * PostgreSQL full-text lexemes (English stemming and stop words: "How do I reset my VPN password?"
 * and "reset vpn password" share {reset, vpn, password}). Privacy: only question texts and counts
 * leave this module, never who asked; the report reads chat_messages, so whatever removes a
 * conversation (its owner's deletion, a retention purge) removes it from the report too.
 */
import type { Knex } from 'knex';
import { bucketIndex, type Period } from './period.js';

/** Questions considered for grouping: the most recent ones in the period. */
export const MAX_QUESTIONS = 5000;
/** Two questions are one group when their lexeme sets overlap at least this much (Jaccard). */
export const SIMILARITY = 0.5;
export const TOP_GROUPS = 20;

export interface Question {
  content: string;
  lexemes: string[];
  created_at: Date;
}

export interface QuestionGroup {
  question: string;
  count: number;
  examples: string[];
  last_asked: string;
  faq_command: string;
}

const jaccard = (a: Set<string>, b: Set<string>) => {
  let inter = 0;
  for (const x of a) if (b.has(x)) inter++;
  const union = a.size + b.size - inter;
  return union === 0 ? 1 : inter / union;
};

/** Shell-quote for a POSIX shell (single quotes). */
export const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export const faqCommand = (question: string) => `smartsupport faqs create --from-question ${shellQuote(question)}`;

const normalize = (s: string) => s.replace(/\s+/g, ' ').trim();

/**
 * Greedy single-pass clustering, most frequent phrasing first: each question joins the first group
 * whose lexeme set is similar enough, else starts one. Deterministic for a given input.
 */
export function groupQuestions(questions: Question[], top = TOP_GROUPS): QuestionGroup[] {
  // identical lexeme sets first (the common case), counted
  const exact = new Map<string, { lex: Set<string>; texts: Map<string, number>; count: number; last: Date }>();
  for (const q of questions) {
    const lex = [...new Set(q.lexemes)].sort();
    const k = lex.length ? lex.join(' ') : `text:${normalize(q.content).toLowerCase()}`;
    let e = exact.get(k);
    if (!e) exact.set(k, (e = { lex: new Set(lex), texts: new Map(), count: 0, last: q.created_at }));
    const text = normalize(q.content);
    e.texts.set(text, (e.texts.get(text) ?? 0) + 1);
    e.count += 1;
    if (q.created_at > e.last) e.last = q.created_at;
  }
  const entries = [...exact.entries()].sort((a, b) => b[1].count - a[1].count || a[0].localeCompare(b[0]));
  const groups: { lex: Set<string>; texts: Map<string, number>; count: number; last: Date }[] = [];
  for (const [, e] of entries) {
    const g = e.lex.size ? groups.find((x) => x.lex.size && jaccard(x.lex, e.lex) >= SIMILARITY) : undefined;
    if (!g) {
      groups.push({ lex: new Set(e.lex), texts: new Map(e.texts), count: e.count, last: e.last });
      continue;
    }
    g.count += e.count;
    for (const [t, n] of e.texts) g.texts.set(t, (g.texts.get(t) ?? 0) + n);
    if (e.last > g.last) g.last = e.last;
  }
  return groups
    .sort((a, b) => b.count - a.count || b.last.getTime() - a.last.getTime())
    .slice(0, top)
    .map((g) => {
      const phrasings = [...g.texts.entries()].sort((a, b) => b[1] - a[1] || a[0].length - b[0].length || a[0].localeCompare(b[0])).map(([t]) => t);
      const question = phrasings[0]!;
      return { question, count: g.count, examples: phrasings.slice(0, 3), last_asked: g.last.toISOString(), faq_command: faqCommand(question) };
    });
}

/**
 * Questions in the period that found no FAQ match (the next message, the bot's answer, cites no FAQ),
 * or that opened a conversation later escalated (its first question in the period). One scan of the
 * period's messages in (conversation, id) order; lexemes only for the questions kept.
 */
export async function unansweredQuestions(db: Knex, since: Date, until: Date, limit = MAX_QUESTIONS): Promise<Question[]> {
  const { rows } = (await db.raw(
    `SELECT s.content, tsvector_to_array(coalesce(s.question_tsv, to_tsvector('english', s.content))) AS lexemes, s.created_at
       FROM (
         SELECT m.role, m.content, m.question_tsv, m.created_at, m.conversation_id,
                lead(m.sources) OVER w AS answer_sources,
                lead(m.role) OVER w AS next_role,
                -- for a question: how many questions its conversation had up to it (the same window as
                -- lead(): one sort of the period's messages instead of two)
                count(*) FILTER (WHERE m.role = 'user') OVER w AS nth
           FROM chat_messages m
          WHERE m.created_at >= ? AND m.created_at < ?
         WINDOW w AS (PARTITION BY m.conversation_id ORDER BY m.id)) s
       JOIN chat_conversations c ON c.id = s.conversation_id
      WHERE s.role = 'user'
        AND ((s.next_role = 'assistant' AND cardinality(s.answer_sources) = 0) OR (c.escalated_at IS NOT NULL AND s.nth = 1))
      ORDER BY s.created_at DESC
      LIMIT ?`,
    [since, until, limit],
  )) as { rows: Question[] };
  return rows;
}

export async function chatReport(db: Knex, p: Period) {
  const b = (col: string) => `date_trunc('${p.interval}', ${col} AT TIME ZONE 'UTC')`;
  const fmt = (sql: string) => `SELECT to_char(b, 'YYYY-MM-DD') AS bucket, s.* FROM (${sql}) s`;
  const [conv, msgs, answers, questions] = await Promise.all([
    db.raw(
      fmt(`SELECT ${b('created_at')} AS b, count(*)::int AS n, count(*) FILTER (WHERE escalated_at IS NOT NULL)::int AS escalated
         FROM chat_conversations WHERE created_at >= ? AND created_at < ? GROUP BY 1`),
      [p.since, p.until],
    ),
    db.raw(fmt(`SELECT ${b('created_at')} AS b, count(*)::int AS n FROM chat_messages WHERE role = 'user' AND created_at >= ? AND created_at < ? GROUP BY 1`), [p.since, p.until]),
    db.raw(
      `SELECT count(*) FILTER (WHERE provider = 'llm')::int AS model,
              count(*) FILTER (WHERE provider = 'faq' AND cardinality(sources) > 0)::int AS faq_search,
              count(*) FILTER (WHERE provider = 'faq' AND cardinality(sources) = 0)::int AS no_match,
              count(*) FILTER (WHERE model_failed)::int AS model_failovers,
              count(*)::int AS total
         FROM chat_messages WHERE role = 'assistant' AND created_at >= ? AND created_at < ?`,
      [p.since, p.until],
    ),
    unansweredQuestions(db, p.since, p.until),
  ]);
  const idx = bucketIndex(p);
  const conversations = p.buckets.map(() => 0);
  const escalatedPer = p.buckets.map(() => 0);
  const messages = p.buckets.map(() => 0);
  for (const r of conv.rows as { bucket: string; n: number; escalated: number }[]) {
    const i = idx.get(r.bucket);
    if (i !== undefined) {
      conversations[i] = r.n;
      escalatedPer[i] = r.escalated;
    }
  }
  for (const r of msgs.rows as { bucket: string; n: number }[]) {
    const i = idx.get(r.bucket);
    if (i !== undefined) messages[i] = r.n;
  }
  const a = answers.rows[0] as { model: number; faq_search: number; no_match: number; model_failovers: number; total: number };
  const totalConv = conversations.reduce((x, y) => x + y, 0);
  const escalated = escalatedPer.reduce((x, y) => x + y, 0);
  return {
    since: p.since.toISOString(),
    until: p.until.toISOString(),
    interval: p.interval,
    buckets: p.buckets,
    conversations,
    questions: messages,
    totals: { conversations: totalConv, questions: messages.reduce((x, y) => x + y, 0), escalated, escalation_rate: totalConv ? Math.round((escalated / totalConv) * 10_000) / 10_000 : null },
    answers: { model: a.model, faq_search: a.faq_search, no_match: a.no_match, total: a.total, model_failovers: a.model_failovers },
    unanswered: groupQuestions(questions),
  };
}
