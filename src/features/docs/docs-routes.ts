/**
 * GET /docs: the human-readable API reference, rendered from openapi.yaml at build time by
 * `redocly build-docs --inlineBundle` (npm run build:docs → dist/docs/index.html). Everything the
 * page needs is inside that one file, so the CSP allows only same-origin and inline content (inline
 * scripts pinned by their SHA-256), never a CDN.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { RouteTable } from '../../app/feature.js';
import { AppError } from '../../http/errors.js';
import { packageRoot } from '../../lib/paths.js';

export const DOCS_FILE = path.join(packageRoot, 'dist', 'docs', 'index.html');

interface DocsPage {
  html: string;
  csp: string;
}

/** Content-Security-Policy for the docs page: inline scripts by hash; nothing from other origins. */
export function docsCsp(html: string): string {
  const hashes = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/gi)]
    .filter((m) => !/\bsrc\s*=/.test(m[0].slice(0, m[0].indexOf('>'))) && m[1].length > 0)
    .map((m) => `'sha256-${createHash('sha256').update(m[1], 'utf8').digest('base64')}'`);
  return [
    "default-src 'none'",
    `script-src 'self' ${[...new Set(hashes)].join(' ')}`.trim(),
    "style-src 'self' 'unsafe-inline'", // styled-components injects <style> at run time
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

let cached: Promise<DocsPage | undefined> | undefined;

async function loadPage(): Promise<DocsPage | undefined> {
  try {
    const html = await readFile(DOCS_FILE, 'utf8');
    return { html, csp: docsCsp(html) };
  } catch {
    return undefined;
  }
}

export function docsRoutes(): RouteTable {
  return {
    async getApiDocs(ctx) {
      cached ??= loadPage();
      const page = await cached;
      if (!page) {
        cached = undefined; // built later (npm run build): try again next time
        throw new AppError(503, 'docs_not_built', 'The API reference has not been built; run `npm run build`.', {}, { 'Retry-After': '60' });
      }
      ctx.set('Content-Security-Policy', page.csp);
      ctx.set('Cache-Control', 'no-cache');
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = page.html;
    },
  };
}
