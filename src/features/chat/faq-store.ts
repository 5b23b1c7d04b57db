/**
 * The FAQ knowledge base in PostgreSQL: CRUD and relevance search.
 *
 * Search turns the question into its English lexemes (stop words like "who", "is", "the" drop out,
 * words are stemmed: "located" → "locat") and ORs them, so a natural question matches an entry that
 * shares only some of its words; entries are ranked with ts_rank_cd (question weight A, tags B,
 * answer C; normalised to 0..1) and anything under MIN_RANK is not a match — a lone word found only
 * in an answer ("manila") is not enough, a word in a question or tag is.
 */
import type { BeforeCommit } from '../../http/idempotency.js';
import { recordEvent, SYSTEM_ACTOR, type EventInput, type EventType } from '../events/events.js';
import type { Knex } from 'knex';
import { notFound } from '../../http/errors.js';
import { paginate, type Page } from '../../http/pagination.js';

export const MIN_RANK = 0.2;

export interface Faq {
  id: number;
  question: string;
  answer: string;
  tags: string[];
  created_at: Date;
  updated_at: Date;
  rank?: number;
}

const COLUMNS = ['id', 'question', 'answer', 'tags', 'created_at', 'updated_at'] as const;

/** SQL for the OR-of-lexemes tsquery of `?` (NULL when the text has no searchable words). */
const OR_QUERY = `(SELECT string_agg('''' || replace(replace(l, E'\\\\', E'\\\\\\\\'), '''', '''''') || '''', ' | ') FROM unnest(tsvector_to_array(to_tsvector('english', ?))) AS l)::tsquery`;

function rankedQuery(db: Knex | Knex.Transaction, text: string, minRank: number): Knex.QueryBuilder {
  return db
    .with('q', db.raw(`SELECT ${OR_QUERY} AS q`, [text]))
    .from({ f: 'faqs' })
    .crossJoin(db.raw('q'))
    .select(COLUMNS.map((c) => `f.${c}`))
    .select(db.raw('ts_rank_cd(f.search, q.q, 32)::float8 AS rank'))
    .select(db.raw('ts_rank(f.search, q.q)::float8 AS rank_tiebreak'))
    .whereRaw('q.q IS NOT NULL AND f.search @@ q.q')
    .whereRaw('ts_rank_cd(f.search, q.q, 32) >= ?', [minRank]);
}

/** The best matches for a question, best first (empty when nothing is relevant enough). */
export async function searchFaqs(db: Knex | Knex.Transaction, text: string, limit = 3, minRank = MIN_RANK): Promise<Faq[]> {
  const rows = (await rankedQuery(db, text, minRank).orderBy([
    { column: 'rank', order: 'desc' },
    { column: 'rank_tiebreak', order: 'desc' },
    { column: 'f.id', order: 'asc' },
  ]).limit(limit)) as (Faq & { rank_tiebreak?: number })[];
  return rows.map(({ rank_tiebreak: _t, ...f }) => f);
}

export async function listFaqs(db: Knex, opts: { q?: string; tag?: string; limit?: number; cursor?: string }): Promise<Page<Faq>> {
  if (opts.q && opts.q.trim()) {
    const inner = rankedQuery(db, opts.q, MIN_RANK);
    if (opts.tag) inner.whereRaw('? = ANY(f.tags)', [opts.tag]);
    const qb = db.from(inner.as('r')).select(...COLUMNS.map((c) => `r.${c}`), 'r.rank');
    return paginate<Faq & Record<string, unknown>>(qb, {
      limit: opts.limit,
      cursor: opts.cursor,
      direction: 'desc',
      keys: [
        { column: 'r.rank', prop: 'rank' },
        { column: 'r.id', prop: 'id' },
      ],
    });
  }
  const qb = db('faqs').select(...COLUMNS);
  if (opts.tag) qb.whereRaw('? = ANY(tags)', [opts.tag]);
  return paginate<Faq & Record<string, unknown>>(qb, { limit: opts.limit, cursor: opts.cursor, direction: 'asc' });
}

export async function getFaq(db: Knex | Knex.Transaction, id: number): Promise<Faq> {
  const row = (await db('faqs').where({ id }).first(...COLUMNS)) as Faq | undefined;
  if (!row) throw notFound('FAQ');
  return row;
}

const cleanTags = (tags: string[]) => [...new Set(tags.map((t) => t.trim().toLowerCase()).filter(Boolean))];

const faqEvent = (trx: Knex, type: EventType, row: Faq, actor: EventInput['actor']) =>
  recordEvent(trx, { type, actor, object: { type: 'faq', id: String(row.id) }, data: { object: row } });

export async function createFaq(db: Knex, input: { question: string; answer: string; tags?: string[] }, actor: EventInput['actor'] = SYSTEM_ACTOR, beforeCommit?: BeforeCommit<Faq>): Promise<Faq> {
  return db.transaction(async (trx) => {
    const [row] = await trx('faqs')
      .insert({ question: input.question.trim(), answer: input.answer.trim(), tags: cleanTags(input.tags ?? []) })
      .returning([...COLUMNS]);
    await faqEvent(trx, 'faq.created', row as Faq, actor);
    await beforeCommit?.(trx, row as Faq); // an Idempotency-Key's record commits with the FAQ
    return row as Faq;
  });
}

export async function updateFaq(db: Knex, id: number, patch: { question?: string; answer?: string; tags?: string[] }, actor: EventInput['actor'] = SYSTEM_ACTOR): Promise<Faq> {
  const changes: Record<string, unknown> = {};
  if (patch.question !== undefined) changes.question = patch.question.trim();
  if (patch.answer !== undefined) changes.answer = patch.answer.trim();
  if (patch.tags !== undefined) changes.tags = cleanTags(patch.tags);
  if (!Object.keys(changes).length) return getFaq(db, id);
  return db.transaction(async (trx) => {
    const [row] = await trx('faqs').where({ id }).update({ ...changes, updated_at: trx.fn.now() }).returning([...COLUMNS]);
    if (!row) throw notFound('FAQ');
    await faqEvent(trx, 'faq.updated', row as Faq, actor);
    return row as Faq;
  });
}

export async function deleteFaq(db: Knex, id: number, actor: EventInput['actor'] = SYSTEM_ACTOR): Promise<void> {
  await db.transaction(async (trx) => {
    const [row] = await trx('faqs').where({ id }).delete().returning([...COLUMNS]);
    if (!row) throw notFound('FAQ');
    await faqEvent(trx, 'faq.deleted', row as Faq, actor);
  });
}

/** Path id → number (FAQs have only numeric ids); anything else is a 404. */
export function faqId(raw: unknown): number {
  const s = String(raw);
  if (!/^\d{1,15}$/.test(s)) throw notFound('FAQ');
  return Number(s);
}
