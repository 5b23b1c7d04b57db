/**
 * Type-level tests of `ApiClient.call` (checked by `npm run typecheck`, not run): paths, methods,
 * parameter and body names come from openapi.yaml; each `@ts-expect-error` fails the type-check if
 * the mistake below it stops being an error.
 */
import { ApiClient } from '../../src/client/http.js';
import type { BodyOf } from '../../src/client/typed.js';
import { TICKET_FIELD_FLAGS } from '../../src/cli/tickets/shared.js';

const c = new ApiClient({ baseUrl: 'http://127.0.0.1:1', credentials: {} });

export async function typedCalls(loose: Record<string, unknown>, fromFlag: string): Promise<unknown[]> {
  const patched = await c.call('patch', '/api/tickets/{id}/', { path: { id: 'TX0001' }, body: { subject: 's', priority: fromFlag } });
  const subject: string = patched.data.subject;
  await c.call('patch', '/api/tickets/{id}/', { path: { id: 7 }, body: loose });
  const page = await c.call('get', '/api/tickets/', { query: { limit: 5, status: ['New'] } });
  const id: number = page.data.data[0]!.id;
  const health = await c.call('get', '/healthz');
  const deleted = await c.call('delete', '/api/tickets/{id}/', { path: { id: 1 } });
  const nothing: undefined = deleted.data;
  // @ts-expect-error a path the spec does not have
  await c.call('get', '/api/nope/');
  // @ts-expect-error a method the path does not have
  await c.call('post', '/healthz');
  // @ts-expect-error path parameters are required where the template has them
  await c.call('get', '/api/tickets/{id}/');
  // @ts-expect-error a body field the operation does not have
  await c.call('patch', '/api/tickets/{id}/', { path: { id: '1' }, body: { nope: 1 } });
  // @ts-expect-error a query parameter the operation does not have
  await c.call('get', '/api/tickets/', { query: { nope: 5 } });
  // @ts-expect-error a body on an operation without one
  await c.call('get', '/api/tickets/', { body: { a: 1 } });
  // the CLI's flag→field maps are checked the same way (`satisfies`): a misspelt field fails
  const fieldMap = { ...TICKET_FIELD_FLAGS } satisfies Record<string, keyof BodyOf<'/api/tickets/{id}/', 'patch'>>;
  // @ts-expect-error a flag mapped to a field the operation does not have
  const misspelt = { subCategory: 'sub_categori' } as const satisfies Record<string, keyof BodyOf<'/api/tickets/{id}/', 'patch'>>;
  return [subject, id, health.data.status, nothing, fieldMap, misspelt];
}
