/**
 * GET /docs renders the API reference from openapi.yaml in a real browser (headless Chromium),
 * loading nothing from any other origin and breaking no rule of its Content-Security-Policy.
 */
import { existsSync } from 'node:fs';
import t from 'tap';
import { loadSpec } from '../../src/http/openapi.js';
import { startTestApp } from '../helpers/harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];

const ta = await startTestApp(t);

t.test('GET /docs is an HTML page with a CSP that allows no other origin', async (t) => {
  const r = await ta.api.get('/docs');
  if (r.status === 503) {
    t.fail('dist/docs/index.html is missing: run `npm run build` (build:docs) before the tests');
    return;
  }
  t.equal(r.status, 200);
  t.match(r.headers.get('content-type'), /^text\/html/);
  const csp = r.headers.get('content-security-policy') ?? '';
  t.match(csp, /default-src 'none'/);
  t.notMatch(csp, /https?:/, 'the CSP names no external origin');
  t.notMatch(csp, /script-src[^;]*'unsafe-inline'/, 'inline scripts are pinned by hash, not allowed wholesale');
  t.notMatch(r.text, /<(script|link|img)\b[^>]*\b(src|href)=["']?(https?:)?\/\//i, 'no element loads from another origin');
  t.notMatch(r.text, /fonts\.googleapis|@import\s+url\(\s*["']?https?:/i, 'no external fonts or stylesheets');
  t.equal((await ta.api.get('/healthz')).headers.get('content-security-policy'), "default-src 'none'; frame-ancestors 'none'", 'other routes keep the strict CSP');
});

t.test('the reference renders in headless Chromium', async (t) => {
  if (!existsSync(CHROMIUM)) {
    const reason = `Chromium not found at ${CHROMIUM}: install the Debian package \`chromium\` (apt-get install -y chromium), as .ci/run does`;
    if (process.env.CI === 'true' || process.env.SS_REQUIRE_CHROMIUM === '1') t.fail(reason);
    else t.skip(reason, () => {});
    return;
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const origin = new URL(ta.url).origin;
  const external: string[] = [];
  const problems: string[] = [];
  page.on('request', (req) => {
    const u = req.url();
    if (!u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:') && !u.startsWith('about:')) external.push(u);
  });
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));

  const res = await page.goto(`${ta.url}/docs`, { waitUntil: 'load' });
  t.equal(res?.status(), 200);
  const spec = loadSpec();
  // Redoc lists each tag in its side menu; opening a tag lists that tag's operations by summary
  const tags = [...new Set(spec.operations.flatMap((o) => (o.raw.tags as string[]) ?? []))];
  const readiness = spec.byId.get('getReadiness')!.raw.summary as string;
  await page.locator('[data-text="Operations"]').first().click({ timeout: 20_000 });
  await page.getByText(readiness, { exact: true }).first().waitFor({ state: 'visible', timeout: 20_000 });
  t.pass(`"${readiness}" (getReadiness) is visible`);
  let text = await page.innerText('body');
  for (const tag of tags.filter((x) => x !== 'Operations')) {
    const before = await page.innerText('body');
    const summaries = spec.operations.filter((o) => (o.raw.tags as string[])?.[0] === tag).map((o) => o.raw.summary as string);
    const menu = page.locator(`[data-text="${tag}"]`).first();
    // a group already open (Redoc opened it) is not clicked: that would close it
    if (summaries.some((s) => !before.includes(s))) await menu.click({ timeout: 20_000 });
    // the opened tag lists its operations a render later, which a loaded machine can take seconds to
    // reach: read the page until every summary of this tag is in it (or a minute has passed — then
    // the check below names what is missing). Redoc also opens the group of whatever section it has
    // scrolled to, so a click can land on a group it opened meanwhile and close it: click again
    // every 10 s without the summaries
    let body = await page.innerText('body');
    for (let clicked = Date.now(), until = clicked + 60_000; summaries.some((s) => !body.includes(s)) && Date.now() < until; body = await page.innerText('body')) {
      await new Promise((r) => setTimeout(r, 250));
      if (Date.now() - clicked > 10_000) {
        await menu.click({ timeout: 20_000 }).catch(() => undefined);
        clicked = Date.now();
      }
    }
    text += `\n${body}`;
  }
  const missing = spec.operations.filter((o) => !text.includes(o.raw.summary as string)).map((o) => o.operationId);
  t.same(missing, [], 'every operation summary is rendered');
  t.same(external, [], 'nothing is requested from another origin');
  t.same(problems, [], 'no CSP violations or script errors');
});
