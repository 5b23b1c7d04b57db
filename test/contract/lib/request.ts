/**
 * Sending raw requests for the contract tests (the harness Api checks responses against the spec;
 * these tests make their own, more specific, checks and sometimes send deliberately broken input).
 */
import type { Operation } from '../../../src/http/openapi.js';
import { PNG_IMAGE } from './fixtures.js';
import { paramsOf, resolve, sample, type Json } from './spec-tools.js';

export interface Sent {
  method: string;
  url: string;
  status: number;
  type: string;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: Headers;
}

export interface SendOptions {
  token?: string;
  apiKey?: string;
  /** JSON-serialised unless raw is given */
  body?: unknown;
  raw?: string | FormData | Buffer;
  contentType?: string;
  query?: Record<string, unknown>;
  headers?: Record<string, string>;
}

export async function send(base: string, method: string, pathname: string, opts: SendOptions = {}): Promise<Sent> {
  const u = new URL(pathname, base);
  for (const [k, v] of Object.entries(opts.query ?? {})) {
    for (const item of Array.isArray(v) ? v : [v]) u.searchParams.append(k, typeof item === 'object' && item !== null ? JSON.stringify(item) : String(item));
  }
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  if (opts.apiKey) headers['X-API-Key'] = opts.apiKey;
  let body: string | FormData | Uint8Array | undefined;
  if (opts.raw !== undefined) body = typeof opts.raw === 'string' || opts.raw instanceof FormData ? opts.raw : new Uint8Array(opts.raw);
  else if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined && !(body instanceof FormData)) headers['Content-Type'] = opts.contentType ?? 'application/json';
  const res = await fetch(u, { method, headers, body, redirect: 'manual' });
  const type = res.headers.get('content-type') ?? '';
  // a live stream never ends: its status and headers are the answer; hang up
  const streaming = type.startsWith('text/event-stream');
  if (streaming) await res.body?.cancel();
  const text = streaming ? '' : await res.text();
  let json: unknown;
  if (/json/.test(type) && text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  return { method, url: u.toString(), status: res.status, type, text, json, headers: res.headers };
}

/** Fill the path template: given values win, other parameters get a sample from their schema. */
export function fillPath(op: Operation, values: Record<string, string> = {}): string {
  const params = paramsOf(op).filter((p) => p.in === 'path');
  return op.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const v = values[name] ?? String(sample(params.find((p) => p.name === name)?.schema ?? { type: 'string' }) ?? '1');
    // a media path keeps its slashes; every segment is encoded
    return v.split('/').map(encodeURIComponent).join('/');
  });
}

/** Required query parameters with sample values. */
export function sampleQuery(op: Operation): Record<string, unknown> {
  const q: Record<string, unknown> = {};
  for (const p of paramsOf(op)) if (p.in === 'query' && p.required) q[p.name] = sample(p.schema);
  return q;
}

/** A multipart form for a body schema: binary fields get a tiny PNG, others a sample. */
export function multipartFrom(schema: Json, values: Record<string, unknown> = {}): FormData {
  const s = resolve(schema);
  const form = new FormData();
  const props = Object.entries<Json>(s.properties ?? {});
  const required = new Set<string>(s.required ?? []);
  for (const [name, raw] of props) {
    const p = resolve(raw);
    const items = p.type === 'array' ? resolve(p.items ?? {}) : undefined;
    const binary = p.format === 'binary' || p.contentMediaType || items?.format === 'binary' || items?.contentMediaType;
    if (binary) {
      form.append(name, new Blob([new Uint8Array(PNG_IMAGE)], { type: 'image/png' }), 'image.png');
    } else if (name in values) {
      form.append(name, String(values[name]));
    } else if (required.has(name)) {
      const v = sample(p);
      form.append(name, typeof v === 'object' ? JSON.stringify(v) : String(v));
    }
  }
  return form;
}
