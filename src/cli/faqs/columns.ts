import type { Column } from '../output/print.js';
import { usageError } from '../errors.js';

export const FAQ_COLUMNS: Column[] = [{ key: 'id' }, { key: 'question' }, { key: 'answer' }, { key: 'tags' }];

export function faqIdArg(id: string): string {
  if (!/^\d{1,15}$/.test(id)) throw usageError(`not an FAQ id: ${id}`);
  return id;
}

export const collectTag = (v: string, acc: string[] = []) => [...acc, ...v.split(',').map((s) => s.trim()).filter(Boolean)];
