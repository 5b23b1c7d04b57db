/**
 * Bounded image work. Decoding and re-encoding (sharp/libvips) is CPU- and memory-heavy and can be
 * triggered by unauthenticated registration, so each process runs at most IMAGE_JOBS_AT_ONCE image
 * jobs at a time (libvips itself limited to one thread per job), with at most IMAGE_QUEUE_MAX
 * waiting; beyond that the request is refused at once with 503 + Retry-After rather than piling up
 * and starving every other request (logins, the API) of CPU.
 */
import { serviceUnavailable } from '../../http/errors.js';

export const IMAGE_JOBS_AT_ONCE = 1;
export const IMAGE_QUEUE_MAX = 8;

let active = 0;
const waiting: (() => void)[] = [];
let configured = false;

/** sharp, with libvips limited to one thread per job and its operation cache off. */
export async function loadSharp(): Promise<typeof import('sharp')> {
  const mod = await import('sharp');
  if (!configured) {
    configured = true;
    mod.default.concurrency(1);
    mod.default.cache(false);
  }
  return mod;
}

/** Run `fn` when an image slot is free (503 `busy` when too many are already waiting). */
export async function withImageSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (active >= IMAGE_JOBS_AT_ONCE) {
    if (waiting.length >= IMAGE_QUEUE_MAX) throw serviceUnavailable('Too many images are being processed right now; try again shortly.', 'busy');
    await new Promise<void>((resolve) => waiting.push(resolve));
  } else {
    active++;
  }
  try {
    return await fn();
  } finally {
    const next = waiting.shift();
    // hand the slot straight to the next waiter (active stays the same), or free it
    if (next) next();
    else active--;
  }
}
