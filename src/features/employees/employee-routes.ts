import type { AppContext } from '../../app/context.js';
import { actorOf } from '../events/events.js';
import type { ApiContext, Feature, RouteTable } from '../../app/feature.js';
import { unauthorized } from '../../http/errors.js';
import { asFileList } from '../files/attachments-service.js';
import { listEmployees, listRejections } from './employee-store.js';
import * as svc from './employee-service.js';
import * as lifecycle from './lifecycle.js';

const principal = (ctx: ApiContext) => {
  const p = ctx.state.principal;
  if (!p) throw unauthorized();
  return p;
};

function routes(app: AppContext): RouteTable {
  const present = svc.employeePresenter(app);
  const limit = svc.registrationLimit(app);
  const register: RouteTable[string] = async (ctx) => {
    const e = await svc.register(app, ctx.state.input.body, asFileList(ctx.request.files?.image)[0], limit, ctx.ip);
    ctx.status = 201;
    ctx.set('Location', `/api/employees/${e.id}/`);
    ctx.body = present(e);
  };
  return {
    // JSON or multipart
    registerEmployee: register,
    // the same registration, multipart only: for client generators that keep one request type per operation
    registerEmployeeForm: register,
    async adminCreateEmployee(ctx) {
      const e = await svc.adminCreate(app, ctx.state.input.body, actorOf(ctx.state.principal));
      ctx.status = 201;
      ctx.set('Location', `/api/employees/${e.id}/`);
      ctx.body = present(e);
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
      ctx.body = present(await svc.approve(app, ctx.state.input.params.id, actorOf(ctx.state.principal)));
    },
    async rejectEmployee(ctx) {
      ctx.body = present(await svc.reject(app, principal(ctx), ctx.state.input.params.id, ctx.state.input.body?.reason ?? null));
    },
    async listRejectedEmployees(ctx) {
      ctx.body = await listRejections(app.db, ctx.state.input.query);
    },
    async getEmployeeCounts(ctx) {
      ctx.body = await svc.counts(app);
    },
    async deactivateEmployee(ctx) {
      ctx.body = present(await lifecycle.deactivate(app, principal(ctx), ctx.state.input.params.id, ctx.state.input.body?.reason ?? null));
    },
    async reactivateEmployee(ctx) {
      ctx.body = present(await lifecycle.reactivate(app, principal(ctx), ctx.state.input.params.id));
    },
    async eraseEmployee(ctx) {
      ctx.body = present(await lifecycle.erase(app, principal(ctx), ctx.state.input.params.id, ctx.state.input.body.confirm));
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
