import type { Command } from 'commander';
import { defineVerb, withJson } from '../command.js';
import type { Factory } from '../factory.js';

/** `smartsupport system …`: the operational endpoints of a running server. */
export function register(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'health', 'getHealth', 'is the server process up?')).action(async (opts: { json?: boolean | string }) => {
    const f = factory();
    const res = await f.client().call('get', '/healthz');
    const { print } = await import('../output/print.js');
    await print(f, res.data, { json: opts.json, columns: [{ key: 'status' }] });
  });

  withJson(defineVerb(noun, 'ready', 'getReadiness', 'is the server ready (database reachable, migrations current)? exit 1 if not')).action(
    async (opts: { json?: boolean | string }) => {
      const f = factory();
      const { ApiError } = await import('../../client/http.js');
      let body: Record<string, unknown>;
      let ready = true;
      try {
        body = { ...(await f.client().call('get', '/readyz')).data };
      } catch (err) {
        if (!(err instanceof ApiError) || err.status !== 503) throw err;
        ready = false;
        body = err.problem;
      }
      const { print } = await import('../output/print.js');
      await print(f, body, { json: opts.json, columns: [{ key: 'status' }, { key: 'checks' }] });
      if (!ready) {
        const { CliError } = await import('../errors.js');
        throw new CliError('the server is not ready');
      }
    },
  );

  defineVerb(noun, 'metrics', 'getMetrics', 'print the Prometheus metrics').action(async () => {
    const f = factory();
    f.out(String((await f.client().call('get', '/metrics')).data));
  });

  defineVerb(noun, 'spec', ['getOpenApiYaml', 'getOpenApiJson'], 'print the server\'s OpenAPI document')
    .option('--format <format>', 'yaml or json', 'yaml')
    .action(async (opts: { format: string }) => {
      const f = factory();
      const { usageError } = await import('../errors.js');
      if (opts.format !== 'yaml' && opts.format !== 'json') throw usageError('--format must be yaml or json');
      const res = await (opts.format === 'yaml' ? f.client().call('get', '/openapi.yaml') : f.client().call('get', '/openapi.json'));
      f.out(typeof res.data === 'string' ? res.data : JSON.stringify(res.data, null, 2));
    });

  defineVerb(noun, 'docs', 'getApiDocs', 'print the URL of the server\'s API reference (--html prints the page itself)')
    .option('--html', 'fetch and print the HTML page')
    .action(async (opts: { html?: boolean }) => {
      const f = factory();
      const client = f.client();
      if (!opts.html) {
        f.out(client.url('/docs'));
        return;
      }
      const res = await client.call('get', '/docs', { headers: { Accept: 'text/html, application/problem+json' } });
      f.out(String(res.data));
    });
}
