/**
 * orval's fetch mutator for SmartSupport (see docs/clients.md): the generated functions call this
 * instead of `fetch`. It adds what orval's `client: 'fetch'` leaves to the caller:
 * - the server's base URL, chosen at run time (`configureSmartSupport({ baseUrl })`), since the
 *   generated URLs are relative (`/api/tickets/`);
 * - default headers (credentials), overridable per call through the last `RequestInit` argument;
 * - `Content-Type: application/json` on a JSON body: for operations that accept JSON or multipart
 *   (`createTicket`, `registerEmployee`) orval sends `JSON.stringify(body)` without a type, which
 *   the server refuses with 415.
 * It answers `{ data, status, headers }`, the shape orval's generated response types describe.
 */
let settings: { baseUrl: string; headers: Record<string, string> } = { baseUrl: '', headers: {} };

export function configureSmartSupport(next: { baseUrl: string; headers?: Record<string, string> }): void {
  settings = { baseUrl: next.baseUrl.replace(/\/+$/, ''), headers: next.headers ?? {} };
}

export const smartsupportFetch = async <T>(url: string, init: RequestInit): Promise<T> => {
  const headers = new Headers(settings.headers);
  new Headers(init.headers).forEach((value, name) => headers.set(name, value));
  if (typeof init.body === 'string' && !headers.has('Content-Type')) headers.set('Content-Type', 'application/json');
  const res = await fetch(`${settings.baseUrl}${url}`, { ...init, headers });
  const text = [204, 205, 304].includes(res.status) ? '' : await res.text();
  const data: unknown = text && /[/+]json\b/.test(res.headers.get('Content-Type') ?? '') ? JSON.parse(text) : text;
  // the one cast: orval types each operation's answer as a union keyed by `status`
  return { data, status: res.status, headers: res.headers } as T;
};
