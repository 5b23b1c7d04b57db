/**
 * Pure helpers for email threading: the signed reply address (`helpdesk+TX0042.<mac>@example.com`),
 * the ticket's thread root (`<ticket-TX0042@example.com>`), our loop token, Message-ID handling.
 * The MAC is an HMAC-SHA256 of the ticket number under a key derived from the app secret, so a
 * reply address cannot be made up for another ticket.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

const MAC_LEN = 12; // hex characters = 48 bits

function derive(secret: string, label: string): Buffer {
  return createHmac('sha256', secret).update(`smartsupport-email:${label}`).digest();
}

export function replyMac(secret: string, ticketNumber: string): string {
  return createHmac('sha256', derive(secret, 'reply-address')).update(ticketNumber.toUpperCase()).digest('hex').slice(0, MAC_LEN);
}

/** `helpdesk@example.com` + TX0042 → `helpdesk+TX0042.<mac>@example.com` */
export function signedReplyAddress(secret: string, inboundAddress: string, ticketNumber: string): string {
  const at = inboundAddress.lastIndexOf('@');
  return `${inboundAddress.slice(0, at)}+${ticketNumber}.${replyMac(secret, ticketNumber)}${inboundAddress.slice(at)}`;
}

/**
 * The ticket number from a signed reply address, or undefined when the address is not one of ours
 * or its MAC does not verify. `base` is INBOUND_ADDRESS's local part; `domains` the accepted domains.
 */
export function verifyReplyAddress(secret: string, address: string, base: string, domains: string[]): string | undefined {
  const m = /^([^@+]+)\+(TX\d{4,15})\.([0-9a-f]{12})@([^@]+)$/i.exec(address.trim());
  if (!m) return undefined;
  const [, local, number, mac, domain] = m;
  if (local!.toLowerCase() !== base.toLowerCase() || !domains.includes(domain!.toLowerCase())) return undefined;
  const want = Buffer.from(replyMac(secret, number!.toUpperCase()));
  const got = Buffer.from(mac!.toLowerCase());
  return want.length === got.length && timingSafeEqual(want, got) ? number!.toUpperCase() : undefined;
}

/** The domain used in our Message-IDs and thread roots. */
export function mailHost(inboundAddress: string | undefined, mailFrom: string): string {
  const src = inboundAddress ?? mailFrom;
  const m = /@([A-Za-z0-9.-]+)/.exec(src);
  return (m?.[1] ?? 'smartsupport.local').toLowerCase();
}

/** `<ticket-TX0042@host>`, the stable first reference of every mail about a ticket. */
export const threadRoot = (ticketNumber: string, host: string): string => `<ticket-${ticketNumber}@${host}>`;

/** The ticket number named by a thread root in a References/In-Reply-To list (any host of ours). */
export function ticketFromRoot(id: string, host: string): string | undefined {
  const m = /^ticket-(TX\d{4,15})@(.+)$/i.exec(id);
  return m && m[2]!.toLowerCase() === host ? m[1]!.toUpperCase() : undefined;
}

/** Value of our loop header (X-SmartSupport-Loop): stable per installation, not guessable from outside. */
export const loopToken = (secret: string, host: string): string => `${derive(secret, 'loop').toString('hex').slice(0, 20)}@${host}`;

/** `<Abc@x>` / `Abc@x` → `Abc@x`; undefined for empty or absurd values. */
export function bareMessageId(v: string | undefined | null): string | undefined {
  if (!v) return undefined;
  const s = v.trim().replace(/^<|>$/g, '').trim();
  return s && s.length <= 900 && !/[\s<>]/.test(s) ? s : undefined;
}

/** Every Message-ID in an In-Reply-To/References value (a string or a list of them). */
export function messageIdList(v: string | string[] | undefined | null): string[] {
  const all = (Array.isArray(v) ? v : v ? [v] : []).join(' ');
  const out: string[] = [];
  for (const m of all.matchAll(/<([^<>\s]{1,900})>/g)) if (!out.includes(m[1]!)) out.push(m[1]!);
  if (!out.length) for (const w of all.split(/\s+/)) if (bareMessageId(w) && w.includes('@') && !out.includes(w)) out.push(w);
  return out;
}

/** A `[TX0042]` token in a subject. */
export function subjectTicketToken(subject: string): string | undefined {
  const m = /\[(TX\d{4,15})\]/i.exec(subject);
  return m ? m[1]!.toUpperCase() : undefined;
}

/**
 * The subject of a new ticket: `Re:`/`Fwd:` prefixes and `[...]` tags removed; the first tag that is
 * not a ticket number is the category.
 */
export function subjectAndCategory(subject: string): { subject: string; category: string | undefined } {
  let category: string | undefined;
  for (const m of subject.matchAll(/\[([^\]\r\n]{1,100})\]/g)) {
    if (!/^TX\d{4,15}$/i.test(m[1]!.trim()) && m[1]!.trim()) {
      category = m[1]!.trim();
      break;
    }
  }
  let s = subject.replace(/\[[^\]\r\n]{1,100}\]/g, ' ');
  for (;;) {
    const next = s.replace(/^\s*(re|fw|fwd|aw|wg|sv|vs)\s*:\s*/i, '');
    if (next === s) break;
    s = next;
  }
  s = s.replace(/[\r\n\t]+/g, ' ').replace(/\s{2,}/g, ' ').trim();
  return { subject: (s || '(no subject)').slice(0, 200), category };
}
