import type { Column } from '../output/print.js';

export const EMPLOYEE_COLUMNS: Column[] = [
  { key: 'company_id', header: 'ID' },
  { key: 'first_name', header: 'NAME', format: (_v, r) => [r.first_name, r.middle_name, r.last_name, r.suffix].filter(Boolean).join(' ') },
  { key: 'email', header: 'EMAIL' },
  { key: 'department', header: 'DEPARTMENT' },
  { key: 'role', header: 'ROLE' },
  { key: 'status', header: 'STATUS' },
];
