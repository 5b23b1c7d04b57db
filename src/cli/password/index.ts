/** `smartsupport password change|forgot|reset`. */
import type { Command } from 'commander';
import { register as change } from './change.js';
import { register as forgot } from './forgot.js';
import { register as reset } from './reset.js';
import type { Factory } from '../factory.js';

export function register(noun: Command, factory: () => Factory): void {
  for (const r of [change, forgot, reset]) r(noun, factory);
}
