/**
 * Parsing a stored message with mailparser (RFC 2047 headers, any charset through iconv-lite,
 * HTML reduced to text by html-to-text when there is no text part) into what routing needs, plus
 * the pure text rules: quoted history and signatures trimmed for the comment (the full text stays
 * on the inbound row).
 *
 * Why mailparser and not postal-mime: we run on Node (streams, Buffers) and need the text of
 * HTML-only mail; mailparser brings its HTML→text conversion and legacy-charset decoding
 * (iconv-lite, ISO-2022-JP) built in, while postal-mime leaves HTML→text to another package and
 * decodes through TextDecoder only. mailparser is in maintenance mode but still released for
 * security fixes; the parser is used in this one file, so a switch stays local.
 */
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import { bareMessageId, messageIdList } from './addresses.js';

export interface InboundAttachment {
  filename: string;
  contentType: string;
  content: Buffer;
  inline: boolean;
}

export interface ParsedInbound {
  messageId: string | undefined;
  from: string | undefined;
  fromName: string | undefined;
  /** To + Cc + Delivered-To/X-Original-To addresses, lower-case */
  recipients: string[];
  subject: string;
  inReplyTo: string[];
  references: string[];
  /** full text (HTML reduced to text when there is no text part) */
  text: string;
  /** lower-case header name → first value as text */
  header(name: string): string | undefined;
  contentType: { value: string; params: Record<string, string> } | undefined;
  attachments: InboundAttachment[];
}

const addresses = (v: AddressObject | AddressObject[] | undefined): { address: string; name: string }[] =>
  (Array.isArray(v) ? v : v ? [v] : []).flatMap((o) => o.value).flatMap((a) => (a.group ? a.group : [a])).filter((a) => a.address).map((a) => ({ address: a.address!.toLowerCase(), name: a.name ?? '' }));

/** Last-resort HTML → text when mailparser could not convert (too large/deep): tags dropped, entities kept readable. */
export function stripHtml(html: string): string {
  return html
    .replace(/<(script|style|head)[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|div|li|tr|h[1-6])\s*>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

export async function parseMail(raw: Buffer): Promise<ParsedInbound> {
  const m: ParsedMail = await simpleParser(raw, { skipTextToHtml: true, skipImageLinks: true, keepCidLinks: true });
  const from = addresses(m.from)[0];
  const extra = ['delivered-to', 'x-original-to']
    .flatMap((h) => m.headerLines.filter((l) => l.key === h).map((l) => l.line.slice(l.line.indexOf(':') + 1).trim().toLowerCase()))
    .filter((a) => a.includes('@'));
  const recipients = [...new Set([...addresses(m.to).map((a) => a.address), ...addresses(m.cc).map((a) => a.address), ...extra])];
  let text = m.text ?? '';
  if (!text.trim() && typeof m.html === 'string') text = stripHtml(m.html);
  const ct = m.headers.get('content-type') as { value: string; params: Record<string, string> } | undefined;
  const header = (name: string): string | undefined => {
    const v = m.headers.get(name.toLowerCase());
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    if (Array.isArray(v)) return String(v[0]);
    if (v instanceof Date) return v.toISOString();
    if (typeof v === 'object' && 'value' in v && typeof (v as { value: unknown }).value === 'string') return (v as { value: string }).value;
    if (typeof v === 'object' && 'text' in v) return String((v as { text: unknown }).text);
    return undefined;
  };
  return {
    messageId: bareMessageId(m.messageId),
    from: from?.address,
    fromName: from?.name || undefined,
    recipients,
    subject: (m.subject ?? '').replace(/[\r\n]+/g, ' ').trim(),
    inReplyTo: messageIdList(m.inReplyTo),
    references: messageIdList(m.references),
    text: text.replace(/\r\n/g, '\n').replace(/\u00a0/g, ' ').replace(/\s+$/, ''),
    header,
    contentType: ct && typeof ct === 'object' ? ct : undefined,
    attachments: m.attachments.map((a, i) => ({
      filename: a.filename || `attachment-${i + 1}`,
      contentType: a.contentType,
      content: a.content,
      inline: Boolean(a.related) || a.contentDisposition === 'inline',
    })),
  };
}

const QUOTE_HEADERS = [
  /^-{2,}\s*original message\s*-{2,}\s*$/i,
  /^-{2,}\s*forwarded message\s*-{2,}\s*$/i,
  /^_{20,}\s*$/, // Outlook's separator line
  /^on\s.{1,300}\swrote:\s*$/i,
  /^am\s.{1,300}\sschrieb\s.{0,200}:\s*$/i,
  /^le\s.{1,300}\sa écrit\s*:\s*$/i,
];
const SIGNATURE = [/^-- ?$/, /^sent from my .{1,60}$/i, /^get outlook for .{1,40}$/i];

/**
 * The new part of a reply: everything before the first quote header ("On … wrote:", Outlook's
 * "-----Original Message-----" or "From:/Sent:" block), a trailing block of `>` lines, or a
 * signature ("-- " line, "Sent from my …"). Returns the input when trimming would leave nothing.
 */
export function trimReply(text: string): string {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  let cut = lines.length;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!.trimEnd();
    const joined = `${l} ${(lines[i + 1] ?? '').trim()}`.trim();
    if (QUOTE_HEADERS.some((r) => r.test(l.trim()))) {
      cut = i;
      break;
    }
    // "On Tue, 1 Dec 2026 at 10:00, Someone <x@y>\nwrote:" — wrapped over two lines
    if (/^on\s/i.test(l.trim()) && /^wrote:\s*$/i.test((lines[i + 1] ?? '').trim()) && QUOTE_HEADERS[3]!.test(joined)) {
      cut = i;
      break;
    }
    if (/^from:\s/i.test(l) && lines.slice(i + 1, i + 4).some((n) => /^(sent|date):\s/i.test(n))) {
      cut = i;
      break;
    }
    if (SIGNATURE.some((r) => r.test(l))) {
      cut = i;
      break;
    }
  }
  let kept = lines.slice(0, cut);
  // a trailing block of quoted lines (and blank lines between them)
  let end = kept.length;
  while (end > 0 && (/^\s*>/.test(kept[end - 1]!) || !kept[end - 1]!.trim())) end--;
  if (end < kept.length && kept.slice(end).some((l) => /^\s*>/.test(l))) kept = kept.slice(0, end);
  const out = kept.join('\n').replace(/\s+$/, '').replace(/^\s*\n/, '');
  return out.trim() ? out : text.trim();
}

/** Split off the internal-note marker: staff replies whose first non-empty line is the marker. */
export function internalMarker(text: string, marker: string): { internal: boolean; text: string } {
  const lines = text.split('\n');
  const first = lines.findIndex((l) => l.trim() !== '');
  if (first >= 0 && lines[first]!.trim().toLowerCase() === marker.toLowerCase()) {
    return { internal: true, text: lines.slice(first + 1).join('\n').trim() };
  }
  return { internal: false, text };
}
