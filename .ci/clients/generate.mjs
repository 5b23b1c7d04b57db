#!/usr/bin/env node
/**
 * CI only: generate a client from ../../openapi.yaml with each generator a third party is likely to use,
 * then type-check each under `tsc --strict`. Prints one line per generator and exits 1 if any fails to
 * generate or has a type error. Run from anywhere: `node .ci/clients/generate.mjs [name…]`.
 * The generated clients stay in .ci/clients/out/<name>/ (the end-to-end test in
 * test/contract/generated-clients.test.ts drives two of them against a real server).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const spec = path.resolve(here, '../../openapi.yaml');
const bin = (name) => path.join(here, 'node_modules', '.bin', name);
const out = (name) => path.join(here, 'out', name);

/** name → argv that writes the client into out/<name>/ */
const generators = {
  orval: [bin('orval'), '--config', path.join(here, 'orval.config.mjs')],
  'hey-api': [bin('openapi-ts'), '-i', spec, '-o', out('hey-api'), '-c', '@hey-api/client-fetch'],
  'openapi-typescript-codegen': [bin('openapi'), '-i', spec, '-o', out('openapi-typescript-codegen'), '--client', 'fetch'],
  'swagger-typescript-api': [bin('swagger-typescript-api'), 'generate', '--path', spec, '--output', out('swagger-typescript-api'), '--name', 'api.ts'],
  'openapi-zod-client': [bin('openapi-zod-client'), spec, '-o', path.join(out('openapi-zod-client'), 'client.ts')],
  kubb: [bin('kubb'), 'generate', '--config', path.join(here, 'kubb.config.mjs')],
};
/** compiler options a user of that generator sets (kubb writes `.ts` import suffixes) */
const extraOptions = { kubb: { allowImportingTsExtensions: true } };

const wanted = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(generators);
let failed = 0;
for (const name of wanted) {
  const argv = generators[name];
  if (!argv) { console.error(`unknown generator ${name}`); process.exit(2); }
  rmSync(out(name), { recursive: true, force: true });
  mkdirSync(out(name), { recursive: true });
  const gen = spawnSync(argv[0], argv.slice(1), { cwd: here, encoding: 'utf8' });
  if (gen.status !== 0) {
    failed++;
    console.log(`${name}: generation failed (exit ${gen.status})\n${(gen.stderr || gen.stdout).slice(-2000)}`);
    continue;
  }
  writeFileSync(path.join(out(name), 'tsconfig.json'), JSON.stringify({
    extends: '../../tsconfig.base.json',
    compilerOptions: extraOptions[name] ?? {},
    include: ['./**/*.ts'],
  }));
  const tsc = spawnSync(bin('tsc'), ['-p', path.join(out(name), 'tsconfig.json')], { cwd: here, encoding: 'utf8' });
  const errors = (tsc.stdout.match(/error TS\d+/g) ?? []).length;
  if (tsc.status !== 0) {
    failed++;
    console.log(`${name}: ${errors} type errors under tsc --strict\n${tsc.stdout.split('\n').slice(0, 15).join('\n')}`);
  } else {
    console.log(`${name}: generated, 0 type errors under tsc --strict`);
  }
}
process.exit(failed ? 1 : 0);
