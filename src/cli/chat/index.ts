/**
 * `smartsupport chat` — both a one-shot command and a noun:
 *   chat "question"          ask once (answer + sources); `-c ID` continues a conversation
 *   chat                     on a TTY: an interactive session until an empty line or Ctrl-D
 *   chat show ID | chat escalate ID
 * `--json` belongs to `chat` (commander parses a parent's options first), so the verbs read it
 * through optsWithGlobals(): `chat show 12 --json` works.
 */
import type { Command } from 'commander';
import { withJson } from '../command.js';
import type { Factory } from '../factory.js';
import { registerAsk } from './ask.js';
import { registerEscalate } from './escalate.js';
import { registerShow } from './show.js';

export function register(noun: Command, factory: () => Factory): void {
  registerShow(noun, factory);
  registerEscalate(noun, factory);
  registerAsk(withJson(noun), factory);
}
