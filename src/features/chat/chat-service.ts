/**
 * The chatbot: answer a message (model grounded on the best FAQ matches, or full-text search when
 * the model is unconfigured or fails), keep the conversation, and turn it into a ticket.
 *
 * Ownership: a conversation belongs to the person who started it, or — for API keys with the
 * `chat` scope — to the API key itself (an integration's conversations are shared by everything
 * using that key, and are not visible to the key's creator through their own token). Anyone else
 * gets 404.
 */
import type { BeforeCommit } from '../../http/idempotency.js';
import { actorOf, recordEvent } from '../events/events.js';
import type { Knex } from 'knex';
import type { AppContext } from '../../app/context.js';
import type { Principal } from '../../http/auth.js';
import { conflict, forbidden, notFound } from '../../http/errors.js';
import type { TicketRow } from '../tickets/ticket-model.js';
import { actorRef, TicketService } from '../tickets/ticket-service.js';
import { findTicket, insertTicketWithHistory } from '../tickets/ticket-store.js';
import { searchFaqs, type Faq } from './faq-store.js';
import { chatCompletion, type ChatTurn, type LlmResult } from './llm.js';

/** Prior messages (user + assistant) sent to the model with a new question: the last 6 turns. */
export const HISTORY_MESSAGES = 12;
/** FAQs put in the model's prompt. */
export const PROMPT_FAQS = 5;
/** Longest transcript copied into an escalation ticket (the latest messages are kept). */
const MAX_TRANSCRIPT_CHARS = 20_000;

export type Provider = 'llm' | 'faq';

export interface ChatMessage {
  id: number;
  role: 'user' | 'assistant';
  content: string;
  provider: Provider | null;
  sources: number[];
  latency_ms: number | null;
  created_at: Date;
}

export interface Conversation {
  id: number;
  employee_id: number | null;
  api_key_id: number | null;
  ticket_id: number | null;
  escalated_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface ChatReply {
  conversation_id: number;
  message_id: number;
  answer: string;
  sources: number[];
  source_faqs: { id: number; question: string }[];
  provider: Provider;
  latency_ms: number;
}

const ownerOf = (p: Principal) => (p.kind === 'user' ? { employee_id: p.employeeId, api_key_id: null } : { employee_id: null, api_key_id: p.id });

export function conversationIdOf(raw: unknown): number {
  const s = String(raw);
  if (!/^\d{1,15}$/.test(s)) throw notFound('conversation');
  return Number(s);
}

/** The conversation if `p` owns it; 404 otherwise (also for conversations that do not exist). */
export async function findOwnedConversation(db: Knex | Knex.Transaction, p: Principal, id: number, lock = false): Promise<Conversation> {
  const q = db('chat_conversations').where({ id, ...ownerOf(p) }).first();
  if (lock) q.forUpdate();
  const row = (await q) as Conversation | undefined;
  if (!row) throw notFound('conversation');
  return row;
}

async function messagesOf(db: Knex | Knex.Transaction, conversationId: number): Promise<ChatMessage[]> {
  const rows = await db('chat_messages')
    .where({ conversation_id: conversationId })
    .orderBy('id', 'asc')
    .select('id', 'role', 'content', 'provider', 'sources', 'latency_ms', 'created_at');
  return rows.map((r) => ({ ...r, sources: (r.sources as (string | number)[]).map(Number) })) as ChatMessage[];
}

export async function getConversation(app: AppContext, p: Principal, id: number) {
  const c = await findOwnedConversation(app.db, p, id);
  const ticket = c.ticket_id ? await app.db('tickets').where({ id: c.ticket_id }).first('ticket_number') : undefined;
  return { ...c, ticket_number: (ticket?.ticket_number as string | undefined) ?? null, messages: await messagesOf(app.db, c.id) };
}

export function noMatchAnswer(conversationId: number): string {
  return (
    "I couldn't find an answer to that in the SmartSupport FAQs. " +
    `If you need help from a person, escalate this conversation to the IT helpdesk and a ticket will be created with it: ` +
    `\`smartsupport chat escalate ${conversationId}\` (POST /api/chat/${conversationId}/escalate/).`
  );
}

export function systemPrompt(faqs: Faq[]): string {
  const kb = faqs.length
    ? faqs.map((f, i) => `[FAQ ${i + 1}] Q: ${f.question}\nA: ${f.answer}`).join('\n\n')
    : '(no FAQ entry matches this question)';
  return [
    'You are the SmartSupport assistant, the IT helpdesk chatbot of MAP Active Philippines.',
    'Answer questions about the company and about using SmartSupport, using ONLY the FAQ entries below.',
    'If the FAQ entries do not contain the answer, say plainly that you do not know and suggest escalating the conversation to the IT helpdesk, which creates a support ticket.',
    'Be brief, professional and friendly. Never invent facts, names, addresses or policies.',
    '',
    'FAQ entries:',
    kb,
  ].join('\n');
}

/** Answer `message` in a new or existing conversation; never fails because the model did. */
export async function answerMessage(app: AppContext, p: Principal, input: { message: string; conversation_id?: number }, beforeCommit?: BeforeCommit<ChatReply>): Promise<ChatReply> {
  const started = performance.now();
  const message = input.message.trim();
  const existing = input.conversation_id !== undefined ? await findOwnedConversation(app.db, p, input.conversation_id) : undefined;
  const history = existing
    ? ((await app.db('chat_messages').where({ conversation_id: existing.id }).orderBy('id', 'desc').limit(HISTORY_MESSAGES).select('role', 'content')) as ChatTurn[]).reverse()
    : [];

  const matches = await searchFaqs(app.db, message, PROMPT_FAQS);
  let provider: Provider = 'faq';
  let answer: string | undefined;
  let sources: Faq[] = [];
  /** the model is configured but failed: FAQ search answers instead (counted by the chat report) */
  let modelFailed = false;

  const { llmApiKey } = app.config;
  if (llmApiKey) {
    // a follow-up ("and where is it?") often names its subject only in the previous question:
    // ground the model on that question's FAQs too (the search fallback answers this question alone)
    const grounding = [...matches];
    const previous = [...history].reverse().find((h) => h.role === 'user');
    if (previous && grounding.length < PROMPT_FAQS) {
      for (const f of await searchFaqs(app.db, previous.content, PROMPT_FAQS)) {
        if (grounding.length < PROMPT_FAQS && !grounding.some((g) => g.id === f.id)) grounding.push(f);
      }
    }
    const messages: ChatTurn[] = [{ role: 'system', content: systemPrompt(grounding) }, ...history.map((h) => ({ role: h.role, content: h.content })), { role: 'user', content: message }];
    const r: LlmResult = await chatCompletion(
      { apiUrl: app.config.llmApiUrl, apiKey: llmApiKey, model: app.config.llmModel, timeoutMs: app.config.llmTimeoutMs, maxTokens: app.config.llmMaxTokens },
      messages,
    );
    if (r.ok) {
      provider = 'llm';
      answer = r.content;
      sources = grounding;
    } else {
      modelFailed = true;
      app.log.warn({ reason: r.reason, status: r.status, model: app.config.llmModel }, 'chat model failed; answering from FAQ search');
    }
  }
  if (answer === undefined && matches.length) {
    answer = matches[0].answer;
    sources = matches.slice(0, 3);
  }

  return app.db.transaction(async (trx) => {
    const conversation = existing
      ? existing
      : ((await trx('chat_conversations').insert(ownerOf(p)).returning('*'))[0] as Conversation);
    const latency = Math.round(performance.now() - started);
    const text = answer ?? noMatchAnswer(conversation.id);
    const sourceIds = sources.map((s) => Number(s.id));
    await trx('chat_messages').insert({ conversation_id: conversation.id, role: 'user', content: message });
    const [assistant] = await trx('chat_messages')
      .insert({ conversation_id: conversation.id, role: 'assistant', content: text, provider, sources: sourceIds, latency_ms: latency, model_failed: modelFailed })
      .returning('id');
    await trx('chat_conversations').where({ id: conversation.id }).update({ updated_at: trx.fn.now() });
    const out: ChatReply = {
      conversation_id: Number(conversation.id),
      message_id: Number(assistant.id),
      answer: text,
      sources: sourceIds,
      source_faqs: sources.map((s) => ({ id: Number(s.id), question: s.question })),
      provider,
      latency_ms: latency,
    };
    await beforeCommit?.(trx, out); // an Idempotency-Key's answer commits with the messages
    return out;
  });
}

export function transcript(conversationId: number, messages: ChatMessage[]): string {
  const lines = messages.map((m) => `${m.role === 'user' ? 'Employee' : `SmartSupport bot (${m.provider ?? 'faq'})`}: ${m.content}`);
  let body = lines.join('\n\n');
  if (body.length > MAX_TRANSCRIPT_CHARS) body = '[earlier messages omitted]\n\n' + body.slice(body.length - MAX_TRANSCRIPT_CHARS);
  return `Escalated from chatbot conversation ${conversationId}.\n\nTranscript:\n\n${body}`;
}

export type Escalation = { row: TicketRow; body: Record<string, unknown>; created: boolean };

export async function escalateConversation(app: AppContext, p: Principal, id: number, beforeCommit?: BeforeCommit<Escalation>): Promise<Escalation> {
  if (p.kind !== 'user') throw forbidden('Only a signed-in person can escalate a conversation.', 'api_key_not_allowed');
  const tickets = new TicketService(app);
  return app.db.transaction(async (trx) => {
    const c = await findOwnedConversation(trx, p, id, true);
    if (c.ticket_id) {
      const row = await findTicket(trx, { by: 'id', value: c.ticket_id });
      if (row) {
        const out: Escalation = { row, body: await tickets.detail(p, row, trx), created: false };
        await beforeCommit?.(trx, out);
        return out;
      }
      // the ticket was deleted since: escalate again
    }
    const messages = await messagesOf(trx, c.id);
    const firstQuestion = messages.find((m) => m.role === 'user')?.content ?? '';
    if (!firstQuestion) throw conflict('conversation_empty', 'The conversation has no messages to escalate.');
    const oneLine = firstQuestion.replace(/\s+/g, ' ').trim();
    const subject = `Chatbot: ${oneLine.length > 80 ? oneLine.slice(0, 79) + '…' : oneLine}`;
    // the tickets feature's own insert: same numbering, `created` history entry and actor fields as POST /api/tickets/
    const row = await insertTicketWithHistory(
      trx,
      { employee_id: p.employeeId, subject, category: 'General', sub_category: 'Chatbot escalation', description: transcript(c.id, messages) },
      actorRef(p),
      actorOf(p),
    );
    await trx('chat_conversations').where({ id: c.id }).update({ ticket_id: row.id, escalated_at: trx.fn.now(), updated_at: trx.fn.now() });
    await recordEvent(trx, {
      type: 'chat.escalated',
      actor: actorOf(p),
      object: { type: 'chat_conversation', id: String(c.id) },
      ticket_id: row.id,
      data: { object: { id: c.id, ticket_number: row.ticket_number }, ticket_number: row.ticket_number },
    });
    const out: Escalation = { row, body: await tickets.detail(p, row, trx), created: true };
    await beforeCommit?.(trx, out);
    return out;
  });
}
