/** `smartsupport employees <verb>`: accounts, approvals, the rejection audit, deactivation, erasure, export. */
import type { Command } from 'commander';
import type { Factory } from '../factory.js';
import { register as approve } from './approve.js';
import { register as counts } from './counts.js';
import { register as create } from './create.js';
import { register as list } from './list.js';
import { register as registerSelf } from './register.js';
import { register as reject } from './reject.js';
import { register as rejected } from './rejected.js';
import { register as show } from './show.js';
import { register as update } from './update.js';
import { register as lifecycle } from './lifecycle.js';

export function register(noun: Command, factory: () => Factory): void {
  for (const r of [list, show, registerSelf, create, update, approve, reject, rejected, counts, lifecycle]) r(noun, factory);
}
