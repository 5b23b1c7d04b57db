import type { Column } from '../output/print.js';

export const DELIVERY_COLUMNS: Column[] = [
  { key: 'id' },
  { key: 'ticket_number', header: 'ticket' },
  { key: 'reason' },
  { key: 'status' },
  { key: 'attempts' },
  { key: 'last_status_code', header: 'last code' },
  { key: 'next_attempt_at', header: 'next attempt' },
  { key: 'event_id' },
  { key: 'last_error', header: 'last error' },
];
