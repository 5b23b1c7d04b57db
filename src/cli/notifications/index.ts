import type { Command } from 'commander';
import type { Factory } from '../factory.js';
import { register as list } from './list.js';

export function register(noun: Command, factory: () => Factory): void {
  list(noun, factory);
}
