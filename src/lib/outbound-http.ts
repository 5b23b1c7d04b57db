/**
 * Outbound POST for deliveries (webhooks and the workflow push), with the server-side request
 * forgery guard applied WHERE IT MATTERS — at connect time, on the addresses the name resolved to
 * (a name that resolved to a public address when the endpoint was saved may resolve to 127.0.0.1
 * later). Redirects are never followed (a 3xx is an answer like any other). The response body is
 * read up to a small cap.
 */
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

export class BlockedTargetError extends Error {
  readonly code = 'blocked_target';
}

/** Loopback, private, link-local, carrier-grade NAT, unspecified, multicast and reserved ranges. */
export function isPrivateAddress(ip: string): boolean {
  let addr = ip;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  if (mapped) addr = mapped[1]!;
  if (net.isIPv4(addr)) {
    const [a, b] = addr.split('.').map(Number) as [number, number];
    return (
      a === 0 || a === 10 || a === 127 || (a === 100 && b >= 64 && b <= 127) || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) || (a === 192 && b === 0) || (a === 198 && (b === 18 || b === 19)) || a >= 224
    );
  }
  if (net.isIPv6(addr)) {
    const x = addr.toLowerCase();
    return x === '::' || x === '::1' || /^f[cd]/.test(x) || /^fe[89ab]/.test(x) || /^ff/.test(x) || x.startsWith('64:ff9b:') || x.startsWith('2001:db8:');
  }
  return true;
}

/** Static checks of a target URL (scheme; an IP literal's range). Names are checked at connect time. */
export function checkTargetUrl(raw: string, allowPrivate: boolean): string | null {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return 'is not a URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'must be http or https';
  if (u.username || u.password) return 'must not contain credentials';
  const host = u.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  if (!allowPrivate) {
    if (net.isIP(host) && isPrivateAddress(host)) return 'points to a private, loopback or link-local address';
    if (host === 'localhost' || host.endsWith('.localhost')) return 'points to a private, loopback or link-local address';
  }
  return null;
}

function guardedLookup(allowPrivate: boolean): net.LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...(options as dns.LookupOptions), all: true }, (err, addresses) => {
      if (err) return (callback as (e: Error | null, a: string | dns.LookupAddress[], f?: number) => void)(err, '', 0);
      const list = addresses as dns.LookupAddress[];
      if (!allowPrivate) {
        const bad = list.find((a) => isPrivateAddress(a.address));
        if (bad) return (callback as (e: Error | null, a: string, f?: number) => void)(new BlockedTargetError(`${hostname} resolves to a private address`), '', 0);
      }
      if ((options as dns.LookupOptions).all) return (callback as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      (callback as (e: null, a: string, f: number) => void)(null, list[0]!.address, list[0]!.family);
    });
  };
}

export interface PostResult {
  status: number;
  body: string;
  location: string | null;
  durationMs: number;
}

const MAX_BODY = 16 * 1024;

/** POST `body`; resolves with the answer, rejects on network errors, timeouts and blocked targets. */
export function postOnce(url: string, headers: Record<string, string>, body: string, opts: { timeoutMs: number; allowPrivate: boolean }): Promise<PostResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const problem = checkTargetUrl(url, opts.allowPrivate);
    if (problem) return reject(new BlockedTargetError(`the URL ${problem}`));
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.request(
      u,
      {
        method: 'POST',
        headers: { ...headers, 'Content-Length': Buffer.byteLength(body) },
        lookup: guardedLookup(opts.allowPrivate),
        agent: false,
        timeout: opts.timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < MAX_BODY) chunks.push(c);
          size += c.length;
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').slice(0, MAX_BODY), location: (res.headers.location as string | undefined) ?? null, durationMs: Date.now() - started });
        });
        res.on('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
      },
    );
    // an overall deadline (the socket timeout only covers idle time)
    const timer = setTimeout(() => req.destroy(Object.assign(new Error(`timed out after ${opts.timeoutMs} ms`), { name: 'TimeoutError' })), opts.timeoutMs);
    req.on('timeout', () => req.destroy(Object.assign(new Error(`timed out after ${opts.timeoutMs} ms`), { name: 'TimeoutError' })));
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end(body);
  });
}
