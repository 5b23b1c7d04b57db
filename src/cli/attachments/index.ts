/** `smartsupport attachments …` — ticket attachments and stored media. (`tickets attach` uploads; see src/cli/tickets/attach.ts.) */
import type { Command } from 'commander';
import type { Factory } from '../factory.js';
import { register as registerDownload } from './download.js';

export function register(noun: Command, factory: () => Factory): void {
  registerDownload(noun, factory);
}
