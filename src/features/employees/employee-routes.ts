import type { AppContext } from '../../app/context.js';
import { actorOf } from '../events/events.js';
import type { ApiContext, Feature, RouteTable } from '../../app/feature.js';
import { unauthorized } from '../../http/errors.js';
import { answerInTransaction, type Answer } from '../../http/idempotency.js';
import { asFileList } from '../files/attachments-service.js';
import { listEmployees, listRejections } from './employee-store.js';
import * as svc from './employee-service.js';
import * as lifecycle from './lifecycle.js';
import type { EmployeeRecord } from './employee-store.js';

const principal = (ctx: ApiContext) => {
  const p = ctx.state.principal;
  if (!p) throw unauthorized();
  return p;
};

function routes(app: AppContext): RouteTable {
  const present = svc.employeePresenter(app);
  const limit = svc.registrationLimit(app);
  // the POSTs below record their Idempotency-Key answer inside the service's transaction
  const created = (e: EmployeeRecord): Answer => ({ status: 201, headers: { location: `/api/employees/${e.id}/` }, body: present(e) });
  const changed = (e: EmployeeRecord): Answer => ({ status: 200, body: present(e) });
  const register: RouteTable[string] = async (ctx) => {
    const a = answerInTransaction(ctx, created);
    a.send(await svc.register(app, ctx.state.input.body, asFileList(ctx.request.files?.image)[0], limit, ctx.ip, a.beforeCommit));
  };
  return {
    // JSON or multipart
    registerEmployee: register,
    // the same registration, multipart only: for client generators that keep one request type per operation
    registerEmployeeForm: register,
    async adminCreateEmployee(ctx) {
      const a = answerInTransaction(ctx, created);
      a.send(await svc.adminCreate(app, ctx.state.input.body, actorOf(ctx.state.principal), a.beforeCommit));
    },
    async listEmployees(ctx) {
      const page = await listEmployees(app.db, ctx.state.input.query);
      ctx.body = { data: page.data.map(present), next_cursor: page.next_cursor };
    },
    async getEmployee(ctx) {
      ctx.body = present(await svc.getEmployee(app, ctx.state.input.params.id));
    },
    async updateEmployee(ctx) {
      ctx.body = present(await svc.patchEmployee(app, ctx.state.input.params.id, ctx.state.input.body, actorOf(ctx.state.principal)));
    },
    async approveEmployee(ctx) {
      const a = answerInTransaction(ctx, changed);
      a.send(await svc.approve(app, ctx.state.input.params.id, actorOf(ctx.state.principal), a.beforeCommit));
    },
    async rejectEmployee(ctx) {
      const a = answerInTransaction(ctx, changed);
      a.send(await svc.reject(app, principal(ctx), ctx.state.input.params.id, ctx.state.input.body?.reason ?? null, a.beforeCommit));
    },
    async listRejectedEmployees(ctx) {
      ctx.body = await listRejections(app.db, ctx.state.input.query);
    },
    async getEmployeeCounts(ctx) {
      ctx.body = await svc.counts(app);
    },
    async deactivateEmployee(ctx) {
      const a = answerInTransaction(ctx, changed);
      a.send(await lifecycle.deactivate(app, principal(ctx), ctx.state.input.params.id, ctx.state.input.body?.reason ?? null, a.beforeCommit));
    },
    async reactivateEmployee(ctx) {
      const a = answerInTransaction(ctx, changed);
      a.send(await lifecycle.reactivate(app, principal(ctx), ctx.state.input.params.id, a.beforeCommit));
    },
    async eraseEmployee(ctx) {
      const a = answerInTransaction(ctx, changed);
      a.send(await lifecycle.erase(app, principal(ctx), ctx.state.input.params.id, ctx.state.input.body.confirm, a.beforeCommit));
    },
    async exportEmployee(ctx) {
      ctx.body = await lifecycle.exportEmployee(app, ctx.state.input.params.id, present);
    },
    async exportMyData(ctx) {
      ctx.body = await lifecycle.exportEmployee(app, String(principal(ctx).employeeId), present);
    },
    async getProfile(ctx) {
      ctx.body = present(await svc.getEmployee(app, String(principal(ctx).employeeId)));
    },
    async updateProfile(ctx) {
      ctx.body = present(await svc.updateProfile(app, principal(ctx).employeeId!, ctx.state.input.body));
    },
  };
}

export const employeesFeature: Feature = { name: 'employees', routes };
