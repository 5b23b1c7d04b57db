/** Where the package lives, whether we run from `src/` (tsx) or from compiled `dist/`. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

function findRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'openapi.yaml'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the SmartSupport package root above ${start}`);
    dir = parent;
  }
}

/** The repository / package root (holds package.json and openapi.yaml). */
export const packageRoot = findRoot(here);

/** True when this code was compiled to dist/ (as opposed to run from src/ through tsx). */
export const compiled = here.split(path.sep).includes('dist');

/** Directory holding code that is compiled alongside src (migrations, seeds). */
export function codeDir(name: 'migrations' | 'seeds'): string {
  return compiled ? path.join(packageRoot, 'dist', name) : path.join(packageRoot, name);
}
