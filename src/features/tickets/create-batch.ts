/**
 * Ticket creates on the pool are written in batches: one statement inserts every create that is
 * waiting when a slot frees up. What a create costs PostgreSQL is mostly per statement (the round
 * trip, the executor, the statement triggers of `tickets` and `events`, the commit and its WAL
 * flush), so under load a statement carrying eight tickets costs little more than one carrying one
 * (measured with pgloop: ~630 µs of backend CPU for one ticket alone, ~270 µs per ticket in eights).
 *
 * No create waits for a batch to fill: a create that finds a slot free is sent at once, alone, so an
 * idle server answers as fast as before. Only while `slots` statements are already running do
 * creates queue, and the next free slot takes all of them (at most MAX_BATCH). With the default two
 * slots a create queues at most behind one statement. Statements stuck on a lock (a create for an
 * employee whose row is being erased waits on that transaction) must not hold every other create:
 * when the oldest queued create has waited STALL_MS, another slot opens (up to MAX_SLOTS) for the
 * creates that share no employee with a running statement. A create that joins a batch with one
 * stuck on a row lock still waits with it, for as long as that lock is held (an erasure's
 * transaction: milliseconds).
 *
 * Each create's ticket, `created` history entry and `ticket.created` event are written by the same
 * statement; each ticket still commits atomically with its own history and event, and tickets of one
 * batch commit together. A statement that fails on its data (SQLSTATE classes 22 and 23: a date out
 * of range, an owner deleted meanwhile) wrote nothing, so its creates are retried one by one and only
 * the one at fault fails. Any other failure (the database gone, a timeout) is each create's answer,
 * as it would have been alone; none is retried, since a statement cut off mid-commit may have written.
 */
import type { Knex } from 'knex';
import { queryNative } from '../../db/knex.js';
import { EVENT_INSERT_COLUMNS, type EventInput } from '../events/events.js';
import type { ActorRef, TicketRow } from './ticket-model.js';

/** What one create writes: the ticket's columns, the history actor and the event actor. */
export interface CreateInput {
  values: Record<string, unknown>;
  actor: ActorRef;
  eventActor: EventInput['actor'];
}

/** The ticket columns a create may give; the others take their defaults (status New, the dates, …). */
export const CREATE_COLUMNS = ['employee_id', 'subject', 'category', 'sub_category', 'description', 'scheduled_date', 'priority', 'department'] as const;
const COLUMN_TYPES: Record<(typeof CREATE_COLUMNS)[number], string> = {
  employee_id: 'bigint',
  subject: 'text',
  category: 'text',
  sub_category: 'text',
  description: 'text',
  scheduled_date: 'date',
  priority: 'text',
  department: 'text',
};
const ACTOR_COLUMNS = [
  ['actor_kind', 'text'],
  ['actor_id', 'bigint'],
  ['actor_api_key_id', 'bigint'],
  ['event_actor_kind', 'text'],
  ['event_actor_id', 'bigint'],
  ['event_actor_display', 'text'],
] as const;

export const MAX_BATCH = 50;
export const DEFAULT_SLOTS = 2;
export const MAX_SLOTS = 8;
export const STALL_MS = 250;

/** SQL pieces from ticket-store (the read-back select and the event snapshot), given to avoid an import cycle. */
export interface CreateSql {
  /** the final SELECT of the created tickets, over `ins AS t JOIN v ON v.id = t.id`, with `v.ord` */
  select(db: Knex): Knex.QueryBuilder;
  /** the `ticket.created` snapshot over `ins`, `e` (owner) and `a` (assignee) */
  snapshot: string;
}

/** One array per column, in the order of the statement's `$n`. */
function batchArrays(inputs: readonly CreateInput[]): unknown[][] {
  return [
    ...CREATE_COLUMNS.map((c) => inputs.map((i) => i.values[c] ?? null)),
    inputs.map((i) => i.actor.actor_kind),
    inputs.map((i) => i.actor.actor_id ?? null),
    inputs.map((i) => i.actor.actor_api_key_id ?? null),
    inputs.map((i) => i.eventActor?.kind ?? null),
    inputs.map((i) => i.eventActor?.id ?? null),
    inputs.map((i) => i.eventActor?.display ?? null),
  ];
}

/**
 * The statement for a batch: one array per column, zipped by unnest. Its text is the same for any
 * number of tickets, so it is built once and prepared once per connection. Exported for tests.
 */
export function createBatchSql(db: Knex, parts: CreateSql): string {
  const types = [...CREATE_COLUMNS.map((c) => COLUMN_TYPES[c]), ...ACTOR_COLUMNS.map(([, t]) => t)];
  const names = [...CREATE_COLUMNS, ...ACTOR_COLUMNS.map(([n]) => n)];
  const cols = CREATE_COLUMNS.join(', ');
  // each array is bound as a stand-in, so the compiled order can be checked against the arrays' order
  const standIns = names.map((n) => `\u0000${n}\u0000`);
  const { sql, bindings } = parts
    .select(db)
    .with('v', db.raw(`SELECT nextval('tickets_id_seq') AS id, x.* FROM unnest(${types.map((t) => `?::${t}[]`).join(', ')}) WITH ORDINALITY AS x(${names.join(', ')}, ord)`, standIns))
    .with('ins', db.raw(`INSERT INTO tickets (id, ${cols}) SELECT id, ${cols} FROM v ORDER BY ord RETURNING *`))
    .with('h', db.raw(`INSERT INTO ticket_history (ticket_id, actor_kind, actor_id, actor_api_key_id, event, field, to_value) SELECT id, actor_kind, actor_id, actor_api_key_id, 'created', 'status', 'New' FROM v ORDER BY ord`))
    .with(
      'ev',
      db.raw(
        `INSERT INTO events (${EVENT_INSERT_COLUMNS})
         SELECT 'ticket.created', v.event_actor_kind, v.event_actor_id, v.event_actor_display, 'ticket', ins.ticket_number, ins.id, NULL, ins.employee_id, 'all', 'tickets:read', jsonb_build_object('object', ${parts.snapshot})
         FROM ins JOIN v ON v.id = ins.id JOIN employees e ON e.id = ins.employee_id LEFT JOIN employees a ON a.id = ins.assigned_to ORDER BY v.ord`,
      ),
    )
    .toSQL()
    .toNative();
  if (bindings.length !== standIns.length || bindings.some((b, i) => b !== standIns[i])) throw new Error('ticket create batch: the statement binds its arrays in another order than they are given');
  return sql;
}

interface Pending {
  at: number;
  input: CreateInput;
  resolve(row: TicketRow): void;
  reject(err: unknown): void;
}

/** The employee rows a create's foreign-key checks lock: the owner's and the acting employee's. */
const employeesOf = (i: CreateInput): number[] => {
  const ids = [Number(i.values.employee_id)];
  if (i.actor.actor_id != null) ids.push(Number(i.actor.actor_id));
  return ids;
};

/** A failure that depends on a statement's data, after which nothing was written: retry one by one. */
const dataError = (err: unknown): boolean => {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && /^(22|23)[0-9A-Z]{3}$/.test(code);
};

export class CreateBatcher {
  private readonly queue: Pending[] = [];
  private running = 0;
  private sql?: string;
  private stallTimer?: NodeJS.Timeout;
  /** the employees each running statement touches (owner and acting employee: their rows are key-share locked) */
  private readonly inFlight = new Set<Set<number>>();
  /** statements written and the tickets in them, the largest batch, statements that failed (for tests and the bench) */
  readonly stats = { statements: 0, tickets: 0, largest: 0, failed: 0 };

  constructor(
    private readonly db: Knex,
    private readonly sqlParts: CreateSql,
    private readonly slots = DEFAULT_SLOTS,
  ) {}

  create(input: CreateInput): Promise<TicketRow> {
    return new Promise<TicketRow>((resolve, reject) => {
      this.queue.push({ at: Date.now(), input, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length && this.running < this.slots) this.start(this.queue.splice(0, MAX_BATCH));
    // the oldest create has waited STALL_MS: a statement is stuck (or slow). Another slot takes the
    // creates that share no employee with a running statement — never one that may wait on the same row
    while (this.queue.length && this.running < MAX_SLOTS && Date.now() - this.queue[0]!.at >= STALL_MS) {
      const busy = new Set<number>();
      for (const ids of this.inFlight) for (const id of ids) busy.add(id);
      const take: Pending[] = [];
      const keep: Pending[] = [];
      for (const p of this.queue) (take.length < MAX_BATCH && !employeesOf(p.input).some((id) => busy.has(id)) ? take : keep).push(p);
      if (!take.length) break;
      this.queue.splice(0, this.queue.length, ...keep);
      this.start(take);
    }
    // creates left waiting: look again once the oldest has waited STALL_MS (again)
    if (this.queue.length && !this.stallTimer && this.running < MAX_SLOTS) {
      const age = Date.now() - this.queue[0]!.at;
      this.stallTimer = setTimeout(
        () => {
          this.stallTimer = undefined;
          this.pump();
        },
        age >= STALL_MS ? STALL_MS : STALL_MS - age,
      );
      this.stallTimer.unref();
    }
  }

  private start(batch: Pending[]): void {
    const ids = new Set(batch.flatMap((p) => employeesOf(p.input)));
    this.running++;
    this.inFlight.add(ids);
    void this.write(batch).finally(() => {
      this.running--;
      this.inFlight.delete(ids);
      this.pump();
    });
  }

  private async write(batch: Pending[]): Promise<void> {
    let rows: (TicketRow & { ord?: number })[];
    try {
      rows = await this.insert(batch.map((p) => p.input));
    } catch (err) {
      if (batch.length > 1 && dataError(err)) {
        // nothing was written: each on its own, so only the one at fault fails
        await Promise.all(batch.map((p) => this.write([p])));
      } else {
        for (const p of batch) p.reject(err);
      }
      return;
    }
    // a row for every create, in the order asked, or the statement is not what it claims
    if (rows.length !== batch.length || rows.some((r, i) => r.ord !== i + 1)) {
      const wrong = new Error(`ticket create batch: ${batch.length} asked, ${rows.length} answered out of order or missing`);
      for (const p of batch) p.reject(wrong);
      return;
    }
    rows.forEach((row, i) => {
      delete row.ord;
      batch[i]!.resolve(row);
    });
  }

  private async insert(inputs: CreateInput[]): Promise<(TicketRow & { ord?: number })[]> {
    this.sql ??= createBatchSql(this.db, this.sqlParts);
    let rows: (TicketRow & { ord?: number })[];
    try {
      rows = await queryNative<TicketRow & { ord?: number }>(this.db, 'ticket_create_batch', this.sql, batchArrays(inputs));
    } catch (err) {
      this.stats.failed++;
      throw err;
    }
    this.stats.statements++;
    this.stats.tickets += inputs.length;
    this.stats.largest = Math.max(this.stats.largest, inputs.length);
    return rows;
  }
}

const batchers = new WeakMap<Knex, CreateBatcher>();

/** The batcher of this pool (one per Knex instance: one per process and database). */
export function createBatcher(db: Knex, sqlParts: CreateSql): CreateBatcher {
  let b = batchers.get(db);
  if (!b) {
    b = new CreateBatcher(db, sqlParts);
    batchers.set(db, b);
  }
  return b;
}
