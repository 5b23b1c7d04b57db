#!/usr/bin/env node
/**
 * CI only: compare openapi.yaml with the last release's spec (.ci/api-baseline/openapi.yaml) using
 * Optic's breaking-change rules, offline. The versioning policy (docs/api-conventions.md):
 * - a breaking change is allowed only with a new major `info.version` AND a docs/CHANGELOG.md section for
 *   that version; otherwise this exits 1 and lists the breaking changes;
 * - at a release, the released spec is copied to .ci/api-baseline/openapi.yaml.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const baseline = path.join(root, '.ci/api-baseline/openapi.yaml');
const current = path.join(root, 'openapi.yaml');
const version = (file) => /^\s{2}version:\s*['"]?([^'"\s]+)/m.exec(readFileSync(file, 'utf8'))?.[1] ?? '0.0.0';
const major = (v) => Number(v.split('.')[0]);

const res = spawnSync(path.join(here, 'node_modules/.bin/optic'), ['diff', baseline, current, '--check'], {
  cwd: root,
  encoding: 'utf8',
  env: { ...process.env, OPTIC_TELEMETRY_LEVEL: 'off' },
  timeout: 900_000, // Optic takes minutes on a loaded CI machine
});
const output = `${res.stdout}${res.stderr}`;
if (res.status === 0) {
  console.log(`api-diff: no breaking change against the last release (${version(baseline)} → ${version(current)})`);
  process.exit(0);
}
/**
 * Optic's rules are stricter than our policy (docs/api-conventions.md, "Versioning") in two places,
 * which are not counted as breaking here:
 * - a `4XX`/`5XX` range replaced by explicit codes (test/contract/spec.test.ts makes every operation
 *   declare each code the pipeline answers, so no answer a client relied on became undeclared) —
 *   Optic reports the range as removed, with every property of its problem body;
 * - new enum values in response fields (the policy: a client must tolerate them).
 */
function breakingLines(text) {
  const out = [];
  let rangeIndent = -1;
  for (const line of text.split('\n')) {
    const indent = line.length - line.trimStart().length;
    if (rangeIndent >= 0 && line.trim() && indent <= rangeIndent) rangeIndent = -1;
    const range = /^(\s*)- response [45]XX: removed/.exec(line);
    if (range) {
      rangeIndent = range[1].length;
      continue;
    }
    if (rangeIndent >= 0) continue;
    if (!/This is a breaking change/.test(line)) continue;
    if (/cannot add enum options? /.test(line)) continue;
    out.push(line);
  }
  return out;
}
const breaking = breakingLines(output);
if (!breaking.length && /This is a breaking change/.test(output)) {
  console.log(`api-diff: no breaking change against the last release under the versioning policy (${version(baseline)} → ${version(current)}; ranges made explicit and new response enum values are allowed)`);
  process.exit(0);
}
if (!breaking.length) {
  console.log(output.slice(-4000));
  console.log('api-diff: optic failed without naming a breaking change');
  process.exit(1);
}
const [from, to] = [version(baseline), version(current)];
const changelog = readFileSync(path.join(root, 'docs/CHANGELOG.md'), 'utf8');
const marked = major(to) > major(from) && new RegExp(`^## \\[?${to.replace(/\./g, '\\.')}\\]?`, 'm').test(changelog);
console.log(breaking.join('\n'));
if (marked) {
  console.log(`api-diff: ${breaking.length} breaking changes, released as major version ${to} with a CHANGELOG entry`);
  process.exit(0);
}
console.log(`api-diff: ${breaking.length} breaking changes against ${from} without a new major version and docs/CHANGELOG.md entry (docs/api-conventions.md, "Versioning")`);
process.exit(1);
