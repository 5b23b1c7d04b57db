/**
 * business-time.ts against a minute-by-minute model of the definition: walk every UTC minute,
 * ask Luxon for its wall-clock time in the zone, and count it if that time is open and not a
 * holiday and not paused. Random calendars, holidays (fixed and yearly), zones with DST
 * (including Lord Howe's 30-minute shift) and pauses, started around DST changes.
 */
import fc from 'fast-check';
import { DateTime } from 'luxon';
import t from 'tap';
import { addBusinessMinutes, businessMinutesBetween, calendarProblems, WEEKDAYS, type BusinessCalendar, type Pause } from './business-time.js';

const MIN = 60_000;
const ZONES = ['Europe/London', 'America/New_York', 'Asia/Manila', 'Australia/Lord_Howe'] as const;
/** DST changes in 2026 (UTC) of the zones above; Manila has none, so it just gets random days */
const CHANGES = ['2026-03-08T07:00Z', '2026-11-01T06:00Z', '2026-03-29T01:00Z', '2026-10-25T01:00Z', '2026-04-04T15:00Z', '2026-10-03T15:30Z'].map((s) => Date.parse(s));
const HORIZON_MIN = 21 * 24 * 60;

const pad = (n: number) => String(n).padStart(2, '0');
const clock = (m: number) => `${pad(Math.floor(m / 60))}:${pad(m % 60)}`;

// ---- the reference model -------------------------------------------------------------------
/**
 * The wall-clock minute (local date, weekday, minute of the day) of UTC minute `m` in `zone`, as Luxon
 * gives it. Remembered per zone and minute: the cases revisit the same minutes around the same DST
 * changes, and asking Luxon again for each made this file the slowest unit test by far.
 */
const wallClocks = new Map<string, Map<number, { iso: string; weekday: number; mod: number }>>();
function wallClock(m: number, zone: string) {
  let byMinute = wallClocks.get(zone);
  if (!byMinute) wallClocks.set(zone, (byMinute = new Map()));
  let w = byMinute.get(m);
  if (!w) {
    const l = DateTime.fromMillis(m, { zone });
    byMinute.set(m, (w = { iso: l.toISODate()!, weekday: l.weekday, mod: l.hour * 60 + l.minute }));
  }
  return w;
}

function refOpen(m: number, cal: BusinessCalendar | null): boolean {
  if (!cal) return true;
  const { iso, weekday, mod } = wallClock(m, cal.time_zone);
  if (cal.holidays.some((h) => (h.recurring ? h.date.slice(5) === iso.slice(5) : h.date === iso))) return false;
  return (cal.hours[WEEKDAYS[weekday - 1]!] ?? []).some((iv) => {
    const [fh, fm] = iv.from.split(':').map(Number);
    const [th, tm] = iv.to.split(':').map(Number);
    return mod >= fh! * 60 + fm! && mod < th! * 60 + tm!;
  });
}
const refPaused = (m: number, pauses: Pause[]) => pauses.some((p) => m >= p.from && (p.to === null || m < p.to));

function refAdd(start: number, n: number, cal: BusinessCalendar | null, pauses: Pause[]): number | null {
  if (n === 0) return start;
  let count = 0;
  for (let m = start; m < start + HORIZON_MIN * MIN; m += MIN) {
    if (refOpen(m, cal) && !refPaused(m, pauses) && ++count === n) return m + MIN;
  }
  return null; // beyond the horizon
}

function refBetween(a: number, b: number, cal: BusinessCalendar | null, pauses: Pause[]): number {
  let count = 0;
  for (let m = a; m < b; m += MIN) if (refOpen(m, cal) && !refPaused(m, pauses)) count++;
  return count;
}

// ---- generators ----------------------------------------------------------------------------
/** 0–3 non-overlapping intervals a day; boundaries on the half hour mostly, any minute sometimes */
const dayHours = fc
  .tuple(fc.uniqueArray(fc.integer({ min: 0, max: 48 }), { maxLength: 6 }), fc.boolean(), fc.integer({ min: 1, max: 29 }))
  .map(([marks, odd, jitter]) => {
    const sorted = [...marks].sort((a, b) => a - b).map((x) => x * 30);
    if (odd && sorted.length >= 2 && sorted[1]! - sorted[0]! > jitter) sorted[0] = sorted[0]! + jitter;
    const out: { from: string; to: string }[] = [];
    for (let i = 0; i + 1 < sorted.length; i += 2) out.push({ from: clock(sorted[i]!), to: clock(sorted[i + 1]!) });
    return out;
  });

const start = fc.tuple(fc.constantFrom(...CHANGES), fc.integer({ min: -4 * 24 * 60, max: 2 * 24 * 60 })).map(([c, off]) => c + off * MIN);

const calendar = (around: number) =>
  fc
    .record({
      time_zone: fc.constantFrom(...ZONES),
      hours: fc.tuple(...WEEKDAYS.map(() => dayHours)),
      holidays: fc.array(fc.record({ day: fc.integer({ min: -3, max: 10 }), recurring: fc.boolean(), yearBack: fc.integer({ min: 0, max: 3 }) }), { maxLength: 3 }),
    })
    .map(({ time_zone, hours, holidays }): BusinessCalendar => ({
      time_zone,
      hours: Object.fromEntries(WEEKDAYS.map((d, i) => [d, hours[i]!])),
      holidays: holidays.map((h) => {
        const d = DateTime.fromMillis(around, { zone: time_zone }).plus({ days: h.day });
        // a yearly holiday is written with an earlier year: it must still apply this year
        return h.recurring ? { date: d.minus({ years: h.yearBack }).toISODate()!, recurring: true } : { date: d.toISODate()! };
      }),
    }))
    .filter((c) => calendarProblems(c).length === 0);

const maybeCalendar = (around: number) => fc.oneof({ weight: 5, arbitrary: calendar(around) }, { weight: 1, arbitrary: fc.constant(null) });

const pauses = (s: number) =>
  fc.array(fc.tuple(fc.integer({ min: -120, max: 4 * 24 * 60 }), fc.integer({ min: 1, max: 24 * 60 }), fc.integer({ min: 0, max: 9 })), { maxLength: 3 }).map((ps) =>
    ps.map(([o, len, open]): Pause => ({ from: s + o * MIN, to: open === 0 ? null : s + (o + len) * MIN })),
  );

const addCase = start.chain((s) => fc.record({ s: fc.constant(s), cal: maybeCalendar(s), minutes: fc.integer({ min: 0, max: 900 }), pauses: pauses(s) }));
const betweenCase = start.chain((s) => fc.record({ s: fc.constant(s), cal: maybeCalendar(s), span: fc.integer({ min: 0, max: 5 * 24 * 60 }), pauses: pauses(s) }));

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

t.test('addBusinessMinutes agrees with the minute-by-minute model', async (t) => {
  fc.assert(
    fc.property(addCase, ({ s, cal, minutes, pauses }) => {
      const want = refAdd(s, minutes, cal, pauses);
      const got = addBusinessMinutes(s, minutes, cal, pauses);
      if (want === null) return got === null || got >= s + HORIZON_MIN * MIN;
      return got === want;
    }),
    { numRuns: 250, seed: Number(process.env.FC_SEED ?? Date.now() % 2 ** 31) },
  );
  t.pass('every generated case agreed');
});

t.test('businessMinutesBetween agrees with the minute-by-minute model', async (t) => {
  fc.assert(
    fc.property(betweenCase, ({ s, cal, span, pauses }) => businessMinutesBetween(s, s + span * MIN, cal, pauses) === refBetween(s, s + span * MIN, cal, pauses)),
    { numRuns: 250, seed: Number(process.env.FC_SEED ?? Date.now() % 2 ** 31) },
  );
  t.pass('every generated case agreed');
});

t.test('adding then measuring gives back the minutes', async (t) => {
  fc.assert(
    fc.property(addCase, ({ s, cal, minutes, pauses }) => {
      const due = addBusinessMinutes(s, minutes, cal, pauses);
      return due === null || businessMinutesBetween(s, due, cal, pauses) === minutes;
    }),
    { numRuns: 200 },
  );
  t.pass('round trip holds');
});

// ---- examples written out by hand ----------------------------------------------------------
const nineToFive = (zone: string, holidays: BusinessCalendar['holidays'] = []): BusinessCalendar => ({
  time_zone: zone,
  hours: Object.fromEntries(WEEKDAYS.slice(0, 5).map((d) => [d, [{ from: '09:00', to: '17:00' }]])),
  holidays,
});

t.test('examples', async (t) => {
  const london = nineToFive('Europe/London');
  // Friday 2026-03-27 16:00 London (GMT) + 120 business minutes → Monday 10:00 (BST, UTC+1)
  t.equal(iso(addBusinessMinutes(Date.parse('2026-03-27T16:00Z'), 120, london)), '2026-03-30T09:00:00.000Z');
  // a target that runs out exactly at closing time is due at closing time, not next morning
  t.equal(iso(addBusinessMinutes(Date.parse('2026-03-27T16:00Z'), 60, london)), '2026-03-27T17:00:00.000Z');
  // created on Saturday: the clock starts Monday 09:00
  t.equal(iso(addBusinessMinutes(Date.parse('2026-03-28T12:00Z'), 30, london)), '2026-03-30T08:30:00.000Z');
  // a yearly holiday written for 2020 closes 2026-12-25 (a Friday) too
  const xmas = nineToFive('Europe/London', [{ date: '2020-12-25', recurring: true }]);
  t.equal(iso(addBusinessMinutes(Date.parse('2026-12-24T16:30Z'), 60, xmas)), '2026-12-28T09:30:00.000Z');
  // New York, clocks back on Sunday 2026-11-01 at 02:00: open 00:00–03:00 local is four real hours
  const nySunday: BusinessCalendar = { time_zone: 'America/New_York', hours: { sunday: [{ from: '00:00', to: '03:00' }] }, holidays: [] };
  t.equal(businessMinutesBetween(Date.parse('2026-11-01T00:00Z'), Date.parse('2026-11-02T00:00Z'), nySunday), 240);
  // Lord Howe jumps 02:00 → 02:30 on 2026-10-04: a whole local day has 1,410 minutes
  const lhSunday: BusinessCalendar = { time_zone: 'Australia/Lord_Howe', hours: { sunday: [{ from: '00:00', to: '24:00' }] }, holidays: [] };
  t.equal(businessMinutesBetween(Date.parse('2026-10-02T00:00Z'), Date.parse('2026-10-05T00:00Z'), lhSunday), 1410);
  // Manila 08:00–12:00 and 13:00–17:00: lunch does not count
  const manila: BusinessCalendar = { time_zone: 'Asia/Manila', hours: { monday: [{ from: '08:00', to: '12:00' }, { from: '13:00', to: '17:00' }] }, holidays: [] };
  t.equal(iso(addBusinessMinutes(Date.parse('2026-06-01T03:00Z'), 120, manila)), '2026-06-01T06:00:00.000Z'); // 11:00 + 1 h before lunch + 1 h after = 14:00 local
  // 24/7 with a 30-minute pause
  t.equal(iso(addBusinessMinutes(Date.parse('2026-06-01T00:00Z'), 60, null, [{ from: Date.parse('2026-06-01T00:10Z'), to: Date.parse('2026-06-01T00:40Z') }])), '2026-06-01T01:30:00.000Z');
  // still paused: no due time
  t.equal(addBusinessMinutes(Date.parse('2026-06-01T00:00Z'), 60, null, [{ from: Date.parse('2026-06-01T00:10Z'), to: null }]), null);
});

t.test('calendar validation', async (t) => {
  t.match(calendarProblems({ time_zone: 'Mars/Olympus', hours: { monday: [{ from: '09:00', to: '17:00' }] }, holidays: [] }).join(), /not an IANA time zone/);
  t.match(calendarProblems({ time_zone: 'UTC', hours: {}, holidays: [] }).join(), /never open/);
  t.match(calendarProblems({ time_zone: 'UTC', hours: { monday: [{ from: '10:00', to: '09:00' }] }, holidays: [] }).join(), /ends before it starts/);
  t.match(calendarProblems({ time_zone: 'UTC', hours: { monday: [{ from: '09:00', to: '12:00' }, { from: '11:00', to: '13:00' }] }, holidays: [] }).join(), /overlap/);
  t.same(calendarProblems(nineToFive('Asia/Manila')), []);
});
