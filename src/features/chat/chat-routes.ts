/**
 * FAQ chatbot: the knowledge base (public read, System Admin write) and chat conversations.
 * Handlers are thin: the spec has already authenticated, checked roles/scopes and validated input.
 */
import { actorOf } from '../events/events.js';
import type { AppContext } from '../../app/context.js';
import type { ApiContext, Feature, RouteTable } from '../../app/feature.js';
import { createRateLimiter, type RateLimiter } from '../../http/middleware.js';
import { callerKey, type Principal } from '../../http/auth.js';
import { etagOf } from '../tickets/ticket-model.js';
import { answerMessage, conversationIdOf, escalateConversation, getConversation, type Escalation } from './chat-service.js';
import { createFaq, deleteFaq, faqId, getFaq, listFaqs, updateFaq, type Faq } from './faq-store.js';
import { answerInTransaction, type Answer } from '../../http/idempotency.js';

type Input = { params: Record<string, unknown>; query: Record<string, unknown>; body: Record<string, unknown> };
const input = (ctx: ApiContext) => ctx.state.input as unknown as Input;
const principal = (ctx: ApiContext) => ctx.state.principal as Principal;

function routes(app: AppContext): RouteTable {
  const chatLimiter: RateLimiter | undefined =
    app.config.chatRateLimitPerMinute > 0 ? createRateLimiter(app.db, { points: app.config.chatRateLimitPerMinute, durationSeconds: 60, keyPrefix: 'chat' }) : undefined;

  return {
    async listFaqs(ctx) {
      const q = input(ctx).query;
      ctx.body = await listFaqs(app.db, { q: q.q as string | undefined, tag: q.tag as string | undefined, limit: q.limit as number | undefined, cursor: q.cursor as string | undefined });
    },
    async getFaq(ctx) {
      ctx.body = await getFaq(app.db, faqId(input(ctx).params.id));
    },
    async createFaq(ctx) {
      const b = input(ctx).body as { question: string; answer: string; tags?: string[] };
      const a = answerInTransaction(ctx, (faq: Faq): Answer => ({ status: 201, headers: { location: `/api/faqs/${faq.id}/` }, body: faq }));
      a.send(await createFaq(app.db, b, actorOf(ctx.state.principal), a.beforeCommit));
    },
    async updateFaq(ctx) {
      ctx.body = await updateFaq(app.db, faqId(input(ctx).params.id), input(ctx).body as { question?: string; answer?: string; tags?: string[] }, actorOf(ctx.state.principal));
    },
    async deleteFaq(ctx) {
      await deleteFaq(app.db, faqId(input(ctx).params.id), actorOf(ctx.state.principal));
      ctx.status = 204;
    },

    async postChatMessage(ctx) {
      const p = principal(ctx);
      const b = input(ctx).body as { message: string; conversation_id?: number };
      // per caller, so one chatty person (or integration) cannot spend everyone's model budget
      if (chatLimiter) await chatLimiter.consume(callerKey(p, ctx.ip));
      const a = answerInTransaction(ctx, (body: unknown): Answer => ({ status: 200, body }));
      a.send(await answerMessage(app, p, b, a.beforeCommit));
    },
    async getChatConversation(ctx) {
      ctx.body = await getConversation(app, principal(ctx), conversationIdOf(input(ctx).params.conversation_id));
    },
    async escalateChatConversation(ctx) {
      // ETag as GET /api/tickets/{id}/ answers for the same ticket
      const a = answerInTransaction(ctx, (r: Escalation): Answer => ({ status: r.created ? 201 : 200, headers: { etag: etagOf(r.row) }, body: r.body }));
      a.send(await escalateConversation(app, principal(ctx), conversationIdOf(input(ctx).params.conversation_id), a.beforeCommit));
    },
  };
}

export const chatFeature: Feature = { name: 'chat', routes };
