/** `smartsupport events list | tail` — the event log (docs/events.md). */
import type { Command } from 'commander';
import { defineVerb, withJson, withPaging } from '../command.js';
import type { Factory } from '../factory.js';
import { fetchList, hintMore, type ListFlags } from '../output/list.js';
import { print, type Column } from '../output/print.js';
import { eventLine, follow } from './follow.js';

const collect = (v: string, prev: string[] = []) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

export const EVENT_COLUMNS: Column[] = [
  { key: 'created_at', header: 'time' },
  { key: 'type' },
  { key: 'object', format: (v) => { const o = v as { type: string; id: string }; return `${o.type}:${o.id}`; } },
  { key: 'actor', header: 'by', format: (v) => { const a = v as { kind: string; id: number | null; display: string | null } | null; return a ? (a.display ?? `${a.kind}${a.id !== null ? `:${a.id}` : ''}`) : '-'; } },
  { key: 'id' },
];

export function register(noun: Command, factory: () => Factory): void {
  withPaging(withJson(defineVerb(noun, 'list', 'listEvents', 'events you may see, oldest first (the recovery path after downtime)')))
    .option('--type <types>', 'event types or patterns, e.g. ticket.* (repeatable, comma-separated)', collect)
    .option('--object <id>', 'only events about this object (a ticket number includes its comments and files)')
    .option('--after <event id>', 'continue after this event')
    .option('--since <time>', 'only events at or after this ISO time')
    .action(async (opts: ListFlags & { json?: boolean | string; type?: string[]; object?: string; after?: string; since?: string }) => {
      const f = factory();
      const page = await fetchList(f, '/api/events/', { query: { type: opts.type, object: opts.object, after: opts.after, since: opts.since } }, opts);
      await print(f, page.data as unknown as Record<string, unknown>[], { json: opts.json, columns: EVENT_COLUMNS });
      hintMore(f, page, opts);
    });

  defineVerb(noun, 'tail', 'streamEvents', 'follow new events live (reconnects and resumes by itself); Ctrl-C to stop')
    .option('--type <types>', 'event types or patterns, e.g. ticket.* (repeatable, comma-separated)', collect)
    .option('--object <id>', 'only events about this object')
    .option('--after <event id>', 'start after this event (replays what came since)')
    .option('--json', 'one JSON object per line (NDJSON)')
    .action(async (opts: { type?: string[]; object?: string; after?: string; json?: boolean }) => {
      const f = factory();
      const ac = new AbortController();
      const stop = () => ac.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await follow(f, {
          query: { type: opts.type, object: opts.object },
          from: opts.after,
          signal: ac.signal,
          onEvent: (e) => void f.out(opts.json ? JSON.stringify(e) : eventLine(e)),
        });
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}
