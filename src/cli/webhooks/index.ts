/** `smartsupport webhooks …` — webhook subscriptions (System Admin) and `listen --forward-to` for development. */
import type { Command } from 'commander';
import { confirmOrStop, defineVerb, withJson, withPaging, withYes } from '../command.js';
import { usageError } from '../errors.js';
import type { Factory } from '../factory.js';
import { fetchList, hintMore, type ListFlags } from '../output/list.js';
import { print, type Column } from '../output/print.js';
import { register as listen } from './listen.js';

const collect = (v: string, prev: string[] = []) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

const ENDPOINT_COLUMNS: Column[] = [
  { key: 'id' },
  { key: 'url' },
  { key: 'event_types', header: 'events', format: (v) => (v as string[]).join(',') },
  { key: 'enabled' },
  { key: 'failing_since', header: 'failing since' },
  { key: 'disabled_reason', header: 'disabled because' },
  { key: 'description' },
];

const DELIVERY_COLUMNS: Column[] = [
  { key: 'id' },
  { key: 'event_type', header: 'event' },
  { key: 'status' },
  { key: 'attempts' },
  { key: 'last_status_code', header: 'last code' },
  { key: 'next_attempt_at', header: 'next attempt' },
  { key: 'event_id', header: 'webhook-id' },
  { key: 'last_error', header: 'last error' },
];

const idArg = (v: string): string => {
  if (!/^\d{1,15}$/.test(v)) throw usageError(`not a webhook id: ${v}`);
  return v;
};

function secretNote(f: Factory, secret: string, json: unknown): void {
  if (json === undefined) f.err(`signing secret (shown once; keep it safe): ${secret}`);
}

export function register(noun: Command, factory: () => Factory): void {
  withPaging(withJson(defineVerb(noun, 'list', 'listWebhooks', 'webhook endpoints')))
    .action(async (opts: ListFlags & { json?: boolean | string }) => {
      const f = factory();
      const page = await fetchList(f, '/api/webhooks/', {}, opts);
      await print(f, page.data as unknown as Record<string, unknown>[], { json: opts.json, columns: ENDPOINT_COLUMNS });
      hintMore(f, page, opts);
    });

  withJson(defineVerb(noun, 'show', 'getWebhook', 'one webhook endpoint'))
    .argument('<id>', 'webhook id')
    .action(async (id: string, opts: { json?: boolean | string }) => {
      const f = factory();
      const { data } = await f.client().call('get', '/api/webhooks/{id}/', { path: { id: idArg(id) } });
      await print(f, data as Record<string, unknown>, { json: opts.json, columns: ENDPOINT_COLUMNS });
    });

  withJson(defineVerb(noun, 'create', 'createWebhook', 'subscribe a URL to events (prints the signing secret once)'))
    .argument('<url>', 'https URL of the receiver')
    .option('--type <types>', 'event types or patterns, e.g. ticket.* (repeatable, comma-separated; default all)', collect)
    .option('--description <text>', 'what it is for')
    .option('--disabled', 'create it disabled')
    .action(async (url: string, opts: { type?: string[]; description?: string; disabled?: boolean; json?: boolean | string }) => {
      const f = factory();
      const body = { url, ...(opts.type ? { event_types: opts.type } : {}), ...(opts.description !== undefined ? { description: opts.description } : {}), ...(opts.disabled ? { enabled: false } : {}) };
      const { data } = await f.client().call('post', '/api/webhooks/', { body });
      await print(f, data as Record<string, unknown>, { json: opts.json, columns: ENDPOINT_COLUMNS });
      secretNote(f, (data as { secret: string }).secret, opts.json);
    });

  withJson(defineVerb(noun, 'update', 'updateWebhook', 'change a webhook endpoint (--enable restarts its failure clock)'))
    .argument('<id>', 'webhook id')
    .option('--url <url>', 'new URL')
    .option('--type <types>', 'replace the event types (repeatable, comma-separated)', collect)
    .option('--description <text>', 'new description ("" clears it)')
    .option('--enable', 'enable it')
    .option('--disable', 'disable it')
    .action(async (id: string, opts: { url?: string; type?: string[]; description?: string; enable?: boolean; disable?: boolean; json?: boolean | string }) => {
      if (opts.enable && opts.disable) throw usageError('--enable and --disable exclude each other');
      const body: Record<string, unknown> = {};
      if (opts.url !== undefined) body.url = opts.url;
      if (opts.type !== undefined) body.event_types = opts.type;
      if (opts.description !== undefined) body.description = opts.description === '' ? null : opts.description;
      if (opts.enable) body.enabled = true;
      if (opts.disable) body.enabled = false;
      if (!Object.keys(body).length) throw usageError('nothing to change: pass --url, --type, --description, --enable or --disable');
      const f = factory();
      const { data } = await f.client().call('patch', '/api/webhooks/{id}/', { path: { id: idArg(id) }, body });
      await print(f, data as Record<string, unknown>, { json: opts.json, columns: ENDPOINT_COLUMNS });
    });

  withYes(withJson(defineVerb(noun, 'delete', 'deleteWebhook', 'delete a webhook endpoint and its delivery log (asks first, --yes to skip)')))
    .argument('<id>', 'webhook id')
    .action(async (id: string, opts: { yes?: boolean; json?: boolean | string }) => {
      const f = factory();
      idArg(id);
      await confirmOrStop(f, opts.yes, `Delete webhook ${id} and its delivery log?`);
      await f.client().call('delete', '/api/webhooks/{id}/', { path: { id } });
      if (opts.json !== undefined) f.out(JSON.stringify({ deleted: Number(id) }, null, 2));
      else f.err(`deleted webhook ${id}`);
    });

  withJson(defineVerb(noun, 'ping', 'pingWebhook', 'send a signed webhook.ping message to the endpoint'))
    .argument('<id>', 'webhook id')
    .action(async (id: string, opts: { json?: boolean | string }) => {
      const f = factory();
      const { data } = await f.client().call('post', '/api/webhooks/{id}/ping/', { path: { id: idArg(id) } });
      await print(f, data as Record<string, unknown>, { json: opts.json, columns: DELIVERY_COLUMNS });
    });

  withJson(defineVerb(noun, 'rotate-secret', 'rotateWebhookSecret', 'new signing secret; the old one keeps signing during the overlap'))
    .argument('<id>', 'webhook id')
    .option('--overlap-hours <n>', 'hours both secrets sign (default: the server\'s WEBHOOK_SECRET_OVERLAP_HOURS)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 720) throw usageError('--overlap-hours must be an integer from 0 to 720');
      return n;
    })
    .action(async (id: string, opts: { overlapHours?: number; json?: boolean | string }) => {
      const f = factory();
      const body = opts.overlapHours !== undefined ? { overlap_hours: opts.overlapHours } : {};
      const { data } = await f.client().call('post', '/api/webhooks/{id}/rotate-secret/', { path: { id: idArg(id) }, body });
      await print(f, data as Record<string, unknown>, { json: opts.json, columns: ENDPOINT_COLUMNS });
      secretNote(f, (data as { secret: string }).secret, opts.json);
    });

  withPaging(withJson(defineVerb(noun, 'deliveries', 'listWebhookDeliveries', 'the delivery log of an endpoint, newest first')))
    .argument('<id>', 'webhook id')
    .option('--status <status>', 'pending, delivered, failed, dead, stopped or skipped')
    .action(async (id: string, opts: ListFlags & { status?: string; json?: boolean | string }) => {
      const f = factory();
      const page = await fetchList(f, '/api/webhooks/{id}/deliveries/', { path: { id: idArg(id) }, query: { status: opts.status as never } }, opts);
      await print(f, page.data as unknown as Record<string, unknown>[], { json: opts.json, columns: DELIVERY_COLUMNS });
      hintMore(f, page, opts);
    });

  withJson(defineVerb(noun, 'redeliver', 'redeliverWebhookDelivery', 'one more attempt of a finished delivery (same webhook-id)'))
    .argument('<id>', 'webhook id')
    .argument('<delivery>', 'delivery id')
    .action(async (id: string, delivery: string, opts: { json?: boolean | string }) => {
      const f = factory();
      const { data } = await f.client().call('post', '/api/webhooks/{id}/deliveries/{delivery_id}/redeliver/', { path: { id: idArg(id), delivery_id: idArg(delivery) } });
      await print(f, data as Record<string, unknown>, { json: opts.json, columns: DELIVERY_COLUMNS });
    });

  listen(noun, factory);
}
