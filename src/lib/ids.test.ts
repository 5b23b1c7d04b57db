import t from 'tap';
import { formatHumanId, parseIdRef } from './ids.js';

t.test('human ids widen past 9999 instead of wrapping or truncating', async (t) => {
  t.equal(formatHumanId('MA', 1), 'MA0001');
  t.equal(formatHumanId('TX', 9999), 'TX9999');
  t.equal(formatHumanId('TX', 10000), 'TX10000');
  t.equal(formatHumanId('MA', 123456), 'MA123456');
});

t.test('path ids: numeric or human', async (t) => {
  t.same(parseIdRef('42', 'TX'), { by: 'id', value: 42 });
  t.same(parseIdRef('TX0042', 'TX'), { by: 'human', value: 'TX0042' });
  t.same(parseIdRef('tx10000', 'TX'), { by: 'human', value: 'TX10000' });
  t.equal(parseIdRef('TX42', 'TX'), undefined, 'fewer than four digits is not a ticket number');
  t.equal(parseIdRef('MA0042', 'TX'), undefined, 'wrong prefix');
  t.equal(parseIdRef('42; DROP TABLE', 'TX'), undefined);
  t.equal(parseIdRef('', 'TX'), undefined);
});
