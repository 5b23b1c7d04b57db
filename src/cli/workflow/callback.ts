/**
 * `smartsupport workflow callback TX0042 --status Resolved`: send the status callback the workflow
 * system would send (operators, integration testing). Authenticates with the profile's API key
 * (scope workflow:callback); with WORKFLOW_SIGNING_SECRET in the environment the exact body is signed
 * (Standard Webhooks headers), as the server requires when it has that secret.
 */
import type { Command } from 'commander';
import { defineVerb, withJson } from '../command.js';
import type { Factory } from '../factory.js';

export function register(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'callback', 'receiveWorkflowStatus', 'send a workflow status callback for a ticket (API key with workflow:callback; signed when WORKFLOW_SIGNING_SECRET is set)'))
    .argument('<ticket>', 'TX0042 or 42')
    .requiredOption('--status <status>', 'the new status, e.g. Resolved')
    .option('--comment <text>', 'a comment recorded with the change')
    .option('--event-id <id>', 'idempotency id of the event (a repeat returns the first result); default: random')
    .action(async (ticket: string, o: { status: string; comment?: string; eventId?: string; json?: boolean | string }) => {
      const f = factory();
      const [{ randomUUID }, { CliError, EXIT }, { ticketArg }] = await Promise.all([
        import('node:crypto'),
        import('../errors.js'),
        import('../tickets/shared.js'),
      ]);
      const p = f.profile();
      if (!p.apiKey) throw new CliError('workflow callback needs an API key with the workflow:callback scope (SMARTSUPPORT_API_KEY or `config set api_key`)', EXIT.auth);
      const id = ticketArg(ticket);
      const eventId = o.eventId ?? randomUUID();
      const body: Record<string, unknown> = /^\d+$/.test(id) ? { ticket_id: Number(id) } : { ticket_number: id };
      body.status = o.status;
      if (o.comment !== undefined) body.comment = o.comment;
      body.event_id = eventId;
      const raw = JSON.stringify(body); // the client sends exactly JSON.stringify(body)
      const secret = f.io.env.WORKFLOW_SIGNING_SECRET;
      const headers: Record<string, string> = secret ? (await import('../../lib/webhooks.js')).signedHeaders(secret, eventId, raw) : { 'webhook-id': eventId };
      const client = f.clientWith({ apiKey: p.apiKey });
      const res = await client.call('post', '/api/workflow/status/', { body, headers });
      const { print } = await import('../output/print.js');
      await print(f, res.data, {
        json: o.json,
        columns: [{ key: 'ticket_number', header: 'ticket' }, { key: 'from_status', header: 'from' }, { key: 'status', header: 'to' }, { key: 'event_id' }, { key: 'applied_at' }],
      });
    });
}
