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
  timeout: 300_000,
});
const output = `${res.stdout}${res.stderr}`;
if (res.status === 0) {
  console.log(`api-diff: no breaking change against the last release (${version(baseline)} → ${version(current)})`);
  process.exit(0);
}
const breaking = output.split('\n').filter((l) => /This is a breaking change/.test(l));
if (!breaking.length) {
  console.log(output.slice(-4000));
  console.log('api-diff: optic failed without naming a breaking change');
  process.exit(1);
}
const [from, to] = [version(baseline), version(current)];
const changelog = readFileSync(path.join(root, 'docs/CHANGELOG.md'), 'utf8');
const marked = major(to) > major(from) && new RegExp(`^## \\[?${to.replace(/\./g, '\\.')}\\]?`, 'm').test(changelog);
console.log(output.split('\n').filter((l) => /^\S|This is a breaking change/.test(l)).join('\n'));
if (marked) {
  console.log(`api-diff: ${breaking.length} breaking changes, released as major version ${to} with a CHANGELOG entry`);
  process.exit(0);
}
console.log(`api-diff: ${breaking.length} breaking changes against ${from} without a new major version and docs/CHANGELOG.md entry (docs/api-conventions.md, "Versioning")`);
process.exit(1);
