/** `smartsupport faqs list|show|add|create|update|remove` — the FAQ knowledge base (changes: System Admin). */
import type { Command } from 'commander';
import type { Factory } from '../factory.js';
import { registerAdd } from './add.js';
import { registerCreate } from './create.js';
import { registerList } from './list.js';
import { registerRemove } from './remove.js';
import { registerShow } from './show.js';
import { registerUpdate } from './update.js';

export function register(noun: Command, factory: () => Factory): void {
  registerList(noun, factory);
  registerShow(noun, factory);
  registerAdd(noun, factory);
  registerCreate(noun, factory);
  registerUpdate(noun, factory);
  registerRemove(noun, factory);
}
