/**
 * Build step (npm run build:docs, after `redocly build-docs --inlineBundle`): make the generated
 * reference page self-contained. Redoc's bundle still points its "API docs by" attribution logo at
 * Redocly's CDN; swap those URLs for an inline SVG, then refuse to finish if anything else in the
 * page would still load from another origin.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { DOCS_FILE } from './docs-routes.js';

const LOGO = `data:image/svg+xml,${encodeURIComponent(
  '<svg xmlns="http://www.w3.org/2000/svg" width="80" height="16" viewBox="0 0 80 16"><text x="0" y="12" font-family="sans-serif" font-size="12" fill="#0044D4">Redocly</text></svg>',
)}`;

const file = process.argv[2] ?? DOCS_FILE;
let html = readFileSync(file, 'utf8');
html = html.replace(/https:\/\/cdn\.redoc\.ly\/redoc\/logo-mini(?:-full)?\.svg/g, LOGO);

const leftovers = [
  ...html.matchAll(/<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=["']?(?:https?:)?\/\/[^"'\s>]+/gi),
  ...html.matchAll(/\bsrc:\s*[`'"]https?:\/\/[^`'"]+/g),
  ...html.matchAll(/@import\s+url\(\s*["']?https?:[^)]+/gi),
].map((m) => m[0]);
if (/"disableTelemetry":\s*false/.test(html)) leftovers.push('Redoc telemetry is on (set `telemetry: off` in the redocly config passed to build-docs)');
if (leftovers.length) {
  process.stderr.write(`the docs page still loads from other origins:\n  ${leftovers.join('\n  ')}\n`);
  process.exit(1);
}
writeFileSync(file, html);
process.stdout.write(`docs page is self-contained: ${file}\n`);
