import type { Command } from 'commander';
import type { Factory } from '../factory.js';
import { register as callback } from './callback.js';
import { register as deliveries } from './deliveries.js';
import { register as redeliver } from './redeliver.js';

export function register(noun: Command, factory: () => Factory): void {
  deliveries(noun, factory);
  redeliver(noun, factory);
  callback(noun, factory);
}
