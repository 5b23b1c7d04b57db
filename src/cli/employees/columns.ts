import type { Column } from '../output/print.js';

export const EMPLOYEE_COLUMNS: Column[] = [
  { key: 'company_id', header: 'ID' },
  { key: 'first_name', header: 'NAME', format: (_v, r) => [r.first_name, r.middle_name, r.last_name, r.suffix].filter(Boolean).join(' ') },
  { key: 'email', header: 'EMAIL' },
  { key: 'department', header: 'DEPARTMENT' },
  { key: 'role', header: 'ROLE' },
  { key: 'status', header: 'STATUS' },
];

/** Read a secret from stdin (first line), for --password-stdin style flags. */
export async function readStdinLines(stdin: NodeJS.ReadableStream): Promise<string[]> {
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/);
}
