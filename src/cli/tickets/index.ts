/** `smartsupport tickets <verb>` — one file per verb (transitions share one module). */
import type { Command } from 'commander';
import type { Factory } from '../factory.js';
import { registerAttach } from './attach.js';
import { registerComments } from './comments.js';
import { register as create } from './create.js';
import { register as del } from './delete.js';
import { registerLists } from './list.js';
import { register as replace } from './replace.js';
import { register as show } from './show.js';
import { registerTransitions } from './transitions.js';
import { register as update } from './update.js';
import { register as watch } from './watch.js';

export function register(noun: Command, factory: () => Factory): void {
  registerLists(noun, factory);
  show(noun, factory);
  create(noun, factory);
  update(noun, factory);
  replace(noun, factory);
  del(noun, factory);
  registerTransitions(noun, factory);
  registerComments(noun, factory);
  registerAttach(noun, factory);
  watch(noun, factory);
}
