import type { AppContext } from '../../app/context.js';
import { actorOf } from '../events/events.js';
import type { ApiContext, Feature, RouteTable } from '../../app/feature.js';
import { unauthorized } from '../../http/errors.js';
import { answerInTransaction } from '../../http/idempotency.js';
import { employeePresenter } from '../employees/employee-service.js';
import * as keys from './api-keys.js';
import * as auth from './auth-service.js';
import { SessionLiveness } from './session-cache.js';
import { listenerOf } from '../../db/listener.js';
import { ensureFirstAdmin } from './first-admin.js';
import { QUEUES } from '../../jobs/queues.js';
import { createLoginThrottle } from './login-throttle.js';

const principal = (ctx: ApiContext) => {
  const p = ctx.state.principal;
  if (!p) throw unauthorized();
  return p;
};

function routes(app: AppContext): RouteTable {
  const throttle = createLoginThrottle(app.db);
  const present = employeePresenter(app);
  const login = (portal: auth.Portal) => async (ctx: ApiContext) => {
    const { email, password } = ctx.state.input.body;
    // x-secret-response: only the status is recorded (the key marked used) inside the transaction
    const a = answerInTransaction(ctx, () => ({ status: 200 }));
    const r = await auth.login(app, throttle, portal, email, password, ctx.ip, a.beforeCommit);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { ...r, user: present(r.user) };
  };
  return {
    loginEmployee: login('employee'),
    loginAdmin: login('admin'),
    async refreshToken(ctx) {
      ctx.set('Cache-Control', 'no-store');
      const a = answerInTransaction(ctx, () => ({ status: 200 }));
      ctx.body = await auth.refresh(app, ctx.state.input.body.refresh, a.beforeCommit);
    },
    async logout(ctx) {
      await auth.logout(app, principal(ctx), ctx.state.input.body?.refresh);
      ctx.status = 204;
    },
    async changePassword(ctx) {
      const { current_password, new_password } = ctx.state.input.body;
      const a = answerInTransaction(ctx, () => ({ status: 204 }));
      await auth.changePassword(app, principal(ctx), current_password, new_password, a.beforeCommit);
      a.send(undefined);
    },
    async forgotPassword(ctx) {
      const a = answerInTransaction(ctx, () => ({ status: 202, body: auth.FORGOT_RESPONSE }));
      await auth.forgotPassword(app, ctx.state.input.body.email, a.beforeCommit);
      a.send(undefined);
    },
    async resetPassword(ctx) {
      const { token, new_password } = ctx.state.input.body;
      const a = answerInTransaction(ctx, () => ({ status: 204 }));
      await auth.resetPassword(app, token, new_password, a.beforeCommit);
      a.send(undefined);
    },
    async listApiKeys(ctx) {
      ctx.body = await keys.listKeys(app.db, ctx.state.input.query);
    },
    async createApiKey(ctx) {
      const a = answerInTransaction(ctx, () => ({ status: 201 }));
      const row = await keys.createKey(app.db, principal(ctx).employeeId, ctx.state.input.body, actorOf(ctx.state.principal), a.beforeCommit);
      ctx.status = 201;
      ctx.set('Cache-Control', 'no-store');
      ctx.body = row;
    },
    async revokeApiKey(ctx) {
      await keys.revokeKey(app.db, ctx.state.input.params.id, actorOf(ctx.state.principal));
      ctx.status = 204;
    },
  };
}

export const authFeature: Feature = {
  name: 'auth',
  routes,
  workers: (app) => {
    const cap = auth.resetMailCap(app);
    return [{ queue: QUEUES.passwordForgot, handler: async (data) => void (await auth.sendResetLink(app, cap, (data as { email: string }).email)) }];
  },
  isSessionRevoked: (app) => {
    // one liveness cache per app, invalidated through LISTEN/NOTIFY (session-cache.ts)
    const liveness = new SessionLiveness(app.db, app.config.sessionCacheTtlMs);
    liveness.listen(listenerOf(app));
    app.onClose(async () => liveness.stop());
    return (sid) => liveness.isRevoked(sid);
  },
  async onStart(app) {
    await ensureFirstAdmin(app.db, app.config, app.log);
  },
};
