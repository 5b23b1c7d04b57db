/**
 * Types for `ApiClient.call`, derived from `openapi.yaml` through the generated `schema.d.ts`
 * (`npm run gen:types`, part of the build): the path must be one the spec declares for that method,
 * the names of path parameters, query parameters and body fields must be the operation's, and the
 * result is typed with its success response. A change to the contract that a command does not follow
 * fails `tsc`.
 * Types only: nothing here exists at run time.
 */
import type { paths } from './schema.js';

export type HttpMethod = 'get' | 'put' | 'post' | 'delete' | 'patch';

/** The operation behind `method path` (never when the spec has no such operation). */
export type Op<P extends keyof paths, M extends HttpMethod> = NonNullable<paths[P][M]>;

/** Paths that have an operation for `M`. */
export type PathsFor<M extends HttpMethod> = {
  [P in keyof paths]-?: [NonNullable<paths[P][M]>] extends [never] ? never : P;
}[keyof paths];

type PathParamsOf<O> = O extends { parameters: { path: infer X } } ? X : never;
type QueryOf<O> = O extends { parameters: { query?: infer Q } } ? ([Q] extends [undefined] ? never : NonNullable<Q>) : never;
type Content<R> = R extends { content: infer C } ? C : never;
type JsonIn<C> = [C] extends [never] ? never : C extends { 'application/json': infer B } ? B : never;
type JsonBodyOf<O> = O extends { requestBody?: infer R } ? JsonIn<Content<NonNullable<R>>> : never;
type SuccessCode = 200 | 201 | 202 | 204;
type JsonOf<R> = R extends { content: { 'application/json': infer B } } ? B : R extends { content: infer C } ? C[keyof C] : undefined;

/** The JSON request body of `method path`. */
export type BodyOf<P extends keyof paths, M extends HttpMethod> = JsonBodyOf<Op<P, M>>;

/** The parsed success response of `method path` (a 2xx without content is `undefined`). */
export type ResultOf<P extends keyof paths, M extends HttpMethod> = Op<P, M> extends { responses: infer R } ? { [K in keyof R & SuccessCode]: JsonOf<R[K]> }[keyof R & SuccessCode] : unknown;

/** One item of a paged list response (`{ data: T[], next_cursor }`). */
export type ItemOf<P extends keyof paths> = ResultOf<P, 'get'> extends { data: (infer T)[] } ? T : never;

/** A query value as it goes on the URL. */
export type QueryValue = string | number | boolean | (string | number)[] | undefined;

/**
 * What a caller passes: the NAMES are checked against the spec (path parameters, query parameters,
 * body fields), the values only loosely — they usually come straight from command-line flags, and the
 * server validates them against the same spec (a bad value is its 400, shown to the user).
 */
export type CallOptions<P extends keyof paths, M extends HttpMethod> = ([PathParamsOf<Op<P, M>>] extends [never] ? { path?: undefined } : { path: { [K in keyof PathParamsOf<Op<P, M>>]: string | number } }) & {
  query?: [QueryOf<Op<P, M>>] extends [never] ? undefined : { [K in keyof QueryOf<Op<P, M>>]?: QueryValue };
  body?: [BodyOf<P, M>] extends [never] ? undefined : { [K in keyof BodyOf<P, M>]?: unknown };
  /** a prepared multipart body, for operations that accept `multipart/form-data` */
  form?: FormData;
  headers?: Record<string, string>;
  idempotencyKey?: string;
};
