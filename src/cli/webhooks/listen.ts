/**
 * `smartsupport webhooks listen --forward-to http://localhost:3000/hook` — like `stripe listen`: follow
 * the live event stream and POST each event to a local receiver, signed (Standard Webhooks) with a
 * local secret printed at start, so a developer can build a receiver without a public URL.
 */
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { signedHeaders } from '../../lib/webhooks.js';
import { defineVerb } from '../command.js';
import { usageError } from '../errors.js';
import type { Factory } from '../factory.js';
import { follow } from '../events/follow.js';

const collect = (v: string, prev: string[] = []) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

export function register(noun: Command, factory: () => Factory): void {
  defineVerb(noun, 'listen', 'streamEvents', 'forward live events to a local URL, signed with a local secret (Ctrl-C to stop)')
    .requiredOption('--forward-to <url>', 'where to POST each event, e.g. http://localhost:3000/hook')
    .option('--type <types>', 'event types or patterns (repeatable, comma-separated)', collect)
    .option('--secret <whsec>', 'signing secret to use (default: a new one, printed at start)')
    .option('--after <event id>', 'replay events after this one first')
    .action(async (opts: { forwardTo: string; type?: string[]; secret?: string; after?: string }) => {
      let target: URL;
      try {
        target = new URL(opts.forwardTo);
      } catch {
        throw usageError(`--forward-to is not a URL: ${opts.forwardTo}`);
      }
      if (target.protocol !== 'http:' && target.protocol !== 'https:') throw usageError('--forward-to must be an http(s) URL');
      if (opts.secret !== undefined && !/^whsec_[A-Za-z0-9+/=]{16,}$/.test(opts.secret)) throw usageError('--secret must look like whsec_<base64>');
      const secret = opts.secret ?? `whsec_${randomBytes(32).toString('base64')}`;
      const f = factory();
      f.err(`Ready: forwarding events to ${target.href}`);
      f.err(`Signing secret (verify webhook-signature with it): ${secret}`);
      const ac = new AbortController();
      const stop = () => ac.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await follow(f, {
          query: { type: opts.type },
          from: opts.after,
          signal: ac.signal,
          onEvent: async (e) => {
            const body = JSON.stringify(e);
            let result: string;
            try {
              const res = await fetch(target, {
                method: 'POST',
                headers: { 'Content-Type': 'application/json', 'User-Agent': 'smartsupport-cli-listen', ...signedHeaders(secret, e.id, body) },
                body,
                redirect: 'manual',
                signal: AbortSignal.timeout(10_000),
              });
              await res.arrayBuffer().catch(() => undefined);
              result = String(res.status);
            } catch (err) {
              result = `failed: ${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message}`;
            }
            f.out(`${e.created_at}  ${e.type.padEnd(24)} ${e.id}  → ${result}`);
          },
        });
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}
