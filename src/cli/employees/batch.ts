/** Apply one account action to several ids: print what succeeded, report each failure, exit with the last failure's code. */
import { CliError, describeError, EXIT } from '../errors.js';
import type { Factory } from '../factory.js';

export async function forEachAccount(
  f: Factory,
  ids: string[],
  action: { verb: 'approve' | 'reject' | 'deactivate' | 'reactivate'; pastTense: string; body?: { reason?: string | null } },
  json: boolean | string | undefined,
): Promise<void> {
  const [{ print }, { EMPLOYEE_COLUMNS }] = await Promise.all([import('../output/print.js'), import('./columns.js')]);
  const done: Record<string, unknown>[] = [];
  let failed = 0;
  let code: number = EXIT.error;
  for (const id of ids) {
    try {
      const path = `/api/employees/{id}/${action.verb}/` as const;
      done.push((await f.client().call('post', path, { path: { id }, body: action.body })).data);
    } catch (err) {
      if ((err as Error).name === 'DryRun') throw err; // --dry-run printed the request: not a failure
      const d = describeError(err);
      failed += 1;
      code = d.code;
      f.err(`${id}: ${d.message}`);
    }
  }
  if (done.length) await print(f, done, { json, columns: EMPLOYEE_COLUMNS });
  if (failed) throw new CliError(`${failed} of ${ids.length} could not be ${action.pastTense}`, code);
}
