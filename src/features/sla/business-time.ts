/**
 * Business-time arithmetic — pure, no I/O. Instants are epoch milliseconds (UTC). A calendar's
 * opening hours and holidays are wall-clock times in its IANA zone, read day by day:
 *
 *   an instant is business time ⇔ its local date (in the zone) is not a holiday, and its local
 *   time of day falls in one of that weekday's intervals [from, to).
 *
 * So on a DST change the real hours count as they happen: when clocks go back inside an interval,
 * the repeated wall-clock hour is worked (and counted) twice; when they jump forward, the skipped
 * wall-clock time does not exist and counts nothing. Lord Howe's 30-minute shift is the same rule.
 * `null` as calendar means around the clock (24/7). Pauses are instant ranges [from, to) (to = null:
 * still paused) during which the clock does not run. test/… property tests compare every function
 * here with a minute-by-minute model of exactly this definition.
 */
import { DateTime } from 'luxon';

export const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface OpeningInterval {
  /** 'HH:MM' local wall time, inclusive */
  from: string;
  /** 'HH:MM' local wall time, exclusive; '24:00' = end of the day */
  to: string;
}

export interface Holiday {
  /** 'YYYY-MM-DD' local date */
  date: string;
  /** true: the same month and day every year */
  recurring?: boolean;
}

export interface BusinessCalendar {
  time_zone: string;
  hours: Partial<Record<Weekday, OpeningInterval[]>>;
  holidays: Holiday[];
}

export interface Pause {
  from: number;
  /** null: still paused */
  to: number | null;
}

const MINUTE = 60_000;
/** Give up looking for business time after this many days (a calendar with no open day). */
export const MAX_SCAN_DAYS = 3 * 366;

export function parseClock(hhmm: string): number {
  const m = /^(\d{2}):(\d{2})$/.exec(hhmm);
  if (!m) throw new RangeError(`bad time "${hhmm}"`);
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (min > 59 || h > 24 || (h === 24 && min !== 0)) throw new RangeError(`bad time "${hhmm}"`);
  return h * 60 + min;
}

/** Problems with a calendar, as messages (empty when it is valid). */
export function calendarProblems(cal: BusinessCalendar): string[] {
  const out: string[] = [];
  if (!DateTime.local().setZone(cal.time_zone).isValid) out.push(`time_zone "${cal.time_zone}" is not an IANA time zone`);
  let open = 0;
  for (const [day, intervals] of Object.entries(cal.hours)) {
    if (!(WEEKDAYS as readonly string[]).includes(day)) {
      out.push(`hours.${day} is not a weekday`);
      continue;
    }
    const parsed: [number, number][] = [];
    for (const iv of intervals ?? []) {
      try {
        const f = parseClock(iv.from);
        const t = parseClock(iv.to);
        if (f >= t) out.push(`hours.${day}: ${iv.from}–${iv.to} ends before it starts`);
        else parsed.push([f, t]);
      } catch (e) {
        out.push(`hours.${day}: ${(e as Error).message}`);
      }
    }
    parsed.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < parsed.length; i++) if (parsed[i]![0] < parsed[i - 1]![1]) out.push(`hours.${day}: intervals overlap`);
    open += parsed.length;
  }
  if (!open) out.push('hours: the calendar is never open');
  for (const h of cal.holidays) {
    const d = DateTime.fromISO(h.date, { zone: 'UTC' });
    if (!/^\d{4}-\d{2}-\d{2}$/.test(h.date) || !d.isValid) out.push(`holidays: "${h.date}" is not a date`);
  }
  return out;
}

interface Compiled {
  zone: string;
  /** index 0 = Monday; minutes of day [from, to), sorted */
  days: [number, number][][];
  fixed: Set<string>;
  /** 'MM-DD' */
  yearly: Set<string>;
  /** business intervals of each local day already worked out, by the day's UTC-midnight label (ms) */
  dayCache: Map<number, [number, number][]>;
}

/**
 * Calendars arrive as fresh objects (each ticket's copy parsed from JSON), so compiled calendars are
 * kept by their JSON text too; each keeps the intervals of the days it has worked out. Working a day
 * out costs a dozen time-zone look-ups (Intl, through luxon); a ticket list presents many clocks over
 * the same few days, so a day is worked out once per process. Pure function of (calendar, date):
 * caching changes no result. Both caches are bounded (cleared when full).
 */
const compiledCache = new WeakMap<BusinessCalendar, Compiled>();
const compiledByText = new Map<string, Compiled>();
const MAX_CALENDARS = 256;
const MAX_DAYS_PER_CALENDAR = 8192;

function compile(cal: BusinessCalendar): Compiled {
  let c = compiledCache.get(cal);
  if (c) return c;
  const text = JSON.stringify([cal.time_zone, cal.hours, cal.holidays]);
  c = compiledByText.get(text);
  if (!c) {
    c = {
      zone: cal.time_zone,
      days: WEEKDAYS.map((d) => (cal.hours[d] ?? []).map((iv) => [parseClock(iv.from), parseClock(iv.to)] as [number, number]).sort((a, b) => a[0] - b[0])),
      fixed: new Set(cal.holidays.filter((h) => !h.recurring).map((h) => h.date)),
      yearly: new Set(cal.holidays.filter((h) => h.recurring).map((h) => h.date.slice(5))),
      dayCache: new Map(),
    };
    if (compiledByText.size >= MAX_CALENDARS) compiledByText.clear();
    compiledByText.set(text, c);
  }
  compiledCache.set(cal, c);
  return c;
}

const DAY = 86_400_000;

const offsetAt = (ms: number, zone: string): number => DateTime.fromMillis(ms, { zone }).offset; // minutes east of UTC

/** The first instant of local date y-m-d in `zone` (midnight, or the first minute after a skipped midnight). */
function dayStart(y: number, m: number, d: number, zone: string): number {
  return DateTime.fromObject({ year: y, month: m, day: d }, { zone }).toMillis();
}

/**
 * Business intervals [a, b) of one local day, in increasing order; the day is named by its date's
 * UTC midnight (`label`, ms). Within a day the zone's offset changes at most once; the day is split
 * at that instant and each part maps wall time to UTC with its own offset.
 */
function dayIntervals(c: Compiled, label: number): [number, number][] {
  const cached = c.dayCache.get(label);
  if (cached) return cached;
  const out = computeDayIntervals(c, label);
  if (c.dayCache.size >= MAX_DAYS_PER_CALENDAR) c.dayCache.clear();
  c.dayCache.set(label, out);
  return out;
}

function computeDayIntervals(c: Compiled, label: number): [number, number][] {
  const date = new Date(label);
  const iso = date.toISOString().slice(0, 10);
  if (c.fixed.has(iso) || c.yearly.has(iso.slice(5))) return [];
  const hours = c.days[(date.getUTCDay() + 6) % 7]!;
  if (!hours.length) return [];
  const next = new Date(label + DAY);
  const s0 = dayStart(date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), c.zone);
  const s1 = dayStart(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), c.zone);
  const o0 = offsetAt(s0, c.zone);
  const o1 = offsetAt(s1 - MINUTE, c.zone);
  const segments: [number, number, number][] = [];
  if (o0 === o1) segments.push([s0, s1, o0]);
  else {
    // binary search (in whole minutes) for the first instant with the new offset
    let lo = s0; // offset o0
    let hi = s1 - MINUTE; // offset o1
    while (hi - lo > MINUTE) {
      const mid = lo + Math.floor((hi - lo) / MINUTE / 2) * MINUTE;
      if (offsetAt(mid, c.zone) === o0) lo = mid;
      else hi = mid;
    }
    segments.push([s0, hi, o0], [hi, s1, o1]);
  }
  const wallMidnight = label;
  const out: [number, number][] = [];
  for (const [segA, segB, off] of segments) {
    for (const [f, t] of hours) {
      const a = Math.max(segA, wallMidnight + (f - off) * MINUTE);
      const b = Math.min(segB, wallMidnight + (t - off) * MINUTE);
      if (a < b) out.push([a, b]);
    }
  }
  out.sort((x, y) => x[0] - y[0]);
  const merged: [number, number][] = [];
  for (const iv of out) {
    const last = merged[merged.length - 1];
    if (last && iv[0] <= last[1]) last[1] = Math.max(last[1], iv[1]);
    else merged.push([iv[0], iv[1]]);
  }
  return merged;
}

/** Business intervals from `start` on (clipped to start), in order; 24/7 is one endless interval. */
export function* businessIntervals(start: number, cal: BusinessCalendar | null): Generator<[number, number]> {
  if (!cal) {
    yield [start, Infinity];
    return;
  }
  const c = compile(cal);
  const local = DateTime.fromMillis(start, { zone: c.zone });
  let label = Date.UTC(local.year, local.month - 1, local.day);
  for (let i = 0; i < MAX_SCAN_DAYS; i++, label += DAY) {
    for (const [a, b] of dayIntervals(c, label)) {
      if (b <= start) continue;
      yield [Math.max(a, start), b];
    }
  }
}

/** `intervals` minus the pauses (sorted or not), still in order. */
function* withoutPauses(intervals: Iterable<[number, number]>, pauses: Pause[]): Generator<[number, number]> {
  const ps = pauses.map((p) => [p.from, p.to ?? Infinity] as [number, number]).filter(([a, b]) => a < b).sort((x, y) => x[0] - y[0]);
  const openFrom = Math.min(Infinity, ...ps.filter(([, b]) => b === Infinity).map(([a]) => a));
  for (const [a0, b] of intervals) {
    if (a0 >= openFrom) return; // paused for good from here on
    let a = a0;
    for (const [pa, pb] of ps) {
      if (pb <= a || pa >= b) continue;
      if (pa > a) yield [a, pa];
      a = Math.max(a, pb);
      if (a >= b) break;
    }
    if (a < b) yield [a, b];
    if (a === Infinity) return;
  }
}

/**
 * The instant at which `minutes` of business time (not paused) have passed since `start`: the end
 * of the last counted minute (a target that runs out exactly at closing time is due at closing
 * time). null if it never happens (still paused, or no open time within MAX_SCAN_DAYS).
 */
export function addBusinessMinutes(start: number, minutes: number, cal: BusinessCalendar | null, pauses: Pause[] = []): number | null {
  let left = minutes * MINUTE;
  if (left <= 0) return start;
  for (const [a, b] of withoutPauses(businessIntervals(start, cal), pauses)) {
    if (b - a >= left) return a + left;
    left -= b - a;
  }
  return null;
}

/** Business milliseconds (not paused) in [from, to). */
export function businessMsBetween(from: number, to: number, cal: BusinessCalendar | null, pauses: Pause[] = []): number {
  if (to <= from) return 0;
  let total = 0;
  for (const [a, b] of withoutPauses(businessIntervals(from, cal), pauses)) {
    if (a >= to) break;
    total += Math.min(b, to) - a;
  }
  return total;
}

/** Whole business minutes (not paused) in [from, to), rounded down. */
export function businessMinutesBetween(from: number, to: number, cal: BusinessCalendar | null, pauses: Pause[] = []): number {
  return Math.floor(businessMsBetween(from, to, cal, pauses) / MINUTE);
}

/** Is `at` inside business time (and not paused)? */
export function isBusinessTime(at: number, cal: BusinessCalendar | null, pauses: Pause[] = []): boolean {
  const first = withoutPauses(businessIntervals(at, cal), pauses).next();
  return !first.done && first.value[0] === at;
}
