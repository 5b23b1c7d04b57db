/**
 * Email templates: one renderer per EmailTemplate, each giving a subject, an HTML body and a plain
 * text body. Every value that came from a user (names, subjects, comments, reasons) is HTML-escaped
 * in the HTML part; links are absolute URLs (from the enqueuer, or built from PUBLIC_URL).
 */
import type { EmailData, EmailTemplate } from './notification-outbox.js';

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

export interface RenderContext {
  /** PUBLIC_URL, without a trailing slash */
  publicUrl: string;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (v: unknown): string => String(v ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** Subjects are header values: no line breaks, bounded length. */
const oneLine = (v: string, max = 120): string => {
  const s = v.replace(/[\r\n\t]+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
};

/** Tagged template for HTML: interpolated values are escaped unless wrapped in `raw()`. */
class Raw {
  constructor(readonly value: string) {}
}
const raw = (value: string) => new Raw(value);
function html(strings: TemplateStringsArray, ...values: unknown[]): string {
  return strings.reduce((out, s, i) => {
    if (i === 0) return s;
    const v = values[i - 1];
    return out + (v instanceof Raw ? v.value : escapeHtml(v)) + s;
  }, '');
}

const paragraphs = (text: string) => raw(escapeHtml(text).split(/\r?\n/).join('<br>'));
const button = (href: string, label: string) => raw(html`<p><a href="${href}" style="display:inline-block;padding:10px 16px;background:#1f6feb;color:#fff;text-decoration:none;border-radius:4px">${label}</a></p>`);

function layout(title: string, body: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body style="font-family:system-ui,-apple-system,Segoe UI,sans-serif;color:#1f2328;max-width:600px;margin:0 auto;padding:16px">
${body}
<hr style="border:none;border-top:1px solid #d0d7de;margin-top:24px">
<p style="color:#656d76;font-size:12px">SmartSupport IT helpdesk — this is an automated message.</p>
</body></html>
`;
}

const textFooter = '\n\n--\nSmartSupport IT helpdesk — this is an automated message.\n';

export const ticketUrl = (ctx: RenderContext, ticketNumber: string) => `${ctx.publicUrl}/api/tickets/${encodeURIComponent(ticketNumber)}/`;

type Renderer<K extends EmailTemplate> = (d: EmailData[K], ctx: RenderContext) => RenderedEmail;

const RENDERERS: { [K in EmailTemplate]: Renderer<K> } = {
  account_pending: (d) => ({
    subject: 'Your SmartSupport account is awaiting approval',
    html: layout('Account pending', html`<p>Hello ${d.first_name} ${d.last_name},</p>
<p>Thank you for registering. Your account <strong>${d.company_id}</strong> is waiting for an administrator's approval; we will email you when it has been reviewed.</p>`),
    text: `Hello ${d.first_name} ${d.last_name},\n\nThank you for registering. Your account ${d.company_id} is waiting for an administrator's approval; we will email you when it has been reviewed.${textFooter}`,
  }),
  account_approved: (d) => ({
    subject: 'Your SmartSupport account has been approved',
    html: layout('Account approved', html`<p>Hello ${d.first_name} ${d.last_name},</p>
<p>Your account <strong>${d.company_id}</strong> has been approved. You can now sign in.</p>
${button(d.login_url, 'Sign in')}
<p>Or open this link: <a href="${d.login_url}">${d.login_url}</a></p>`),
    text: `Hello ${d.first_name} ${d.last_name},\n\nYour account ${d.company_id} has been approved. You can now sign in:\n${d.login_url}${textFooter}`,
  }),
  account_rejected: (d) => ({
    subject: 'Your SmartSupport account request was not approved',
    html: layout('Account not approved', html`<p>Hello ${d.first_name} ${d.last_name},</p>
<p>We are sorry: your account request was not approved.</p>
${d.reason ? raw(html`<p>Reason: ${paragraphs(d.reason)}</p>`) : raw('')}
<p>If you think this is a mistake, contact your IT department.</p>`),
    text: `Hello ${d.first_name} ${d.last_name},\n\nWe are sorry: your account request was not approved.\n${d.reason ? `\nReason: ${d.reason}\n` : ''}\nIf you think this is a mistake, contact your IT department.${textFooter}`,
  }),
  account_deactivated: (d) => ({
    subject: 'Your SmartSupport account has been deactivated',
    html: layout('Account deactivated', html`<p>Hello ${d.first_name} ${d.last_name},</p>
<p>Your SmartSupport account <strong>${d.company_id}</strong> has been deactivated by an administrator: you can no longer sign in, and you have been signed out everywhere. Your tickets are kept.</p>
${d.reason ? raw(html`<p>Reason: ${paragraphs(d.reason)}</p>`) : raw('')}
<p>If you think this is a mistake, contact your IT department.</p>`),
    text: `Hello ${d.first_name} ${d.last_name},\n\nYour SmartSupport account ${d.company_id} has been deactivated by an administrator: you can no longer sign in, and you have been signed out everywhere. Your tickets are kept.\n${d.reason ? `\nReason: ${d.reason}\n` : ''}\nIf you think this is a mistake, contact your IT department.${textFooter}`,
  }),
  account_reactivated: (d) => ({
    subject: 'Your SmartSupport account is active again',
    html: layout('Account reactivated', html`<p>Hello ${d.first_name} ${d.last_name},</p>
<p>Your SmartSupport account <strong>${d.company_id}</strong> is active again. You can sign in:</p>${button(d.login_url, 'Sign in')}`),
    text: `Hello ${d.first_name} ${d.last_name},\n\nYour SmartSupport account ${d.company_id} is active again. You can sign in:\n${d.login_url}${textFooter}`,
  }),
  account_created: (d) => ({
    subject: 'A SmartSupport account has been created for you',
    html: layout('Account created', html`<p>Hello ${d.first_name} ${d.last_name},</p>
<p>An administrator created a SmartSupport account for you: <strong>${d.company_id}</strong> (role: ${d.role}).</p>
${d.set_password_url ? raw(html`<p>Choose your password with this one-time link:</p>${button(d.set_password_url, 'Set your password')}<p><a href="${d.set_password_url}">${d.set_password_url}</a></p>`) : raw('<p>Your administrator will give you your initial password.</p>')}`),
    text: `Hello ${d.first_name} ${d.last_name},\n\nAn administrator created a SmartSupport account for you: ${d.company_id} (role: ${d.role}).\n\n${d.set_password_url ? `Choose your password with this one-time link:\n${d.set_password_url}` : 'Your administrator will give you your initial password.'}${textFooter}`,
  }),
  password_reset: (d) => ({
    subject: 'Reset your SmartSupport password',
    html: layout('Password reset', html`<p>Hello ${d.first_name},</p>
<p>Someone (hopefully you) asked to reset your SmartSupport password. This link works once, for ${d.expires_minutes} minutes:</p>
${button(d.reset_url, 'Reset your password')}
<p><a href="${d.reset_url}">${d.reset_url}</a></p>
<p>If you did not ask for this, ignore this email; your password stays the same.</p>`),
    text: `Hello ${d.first_name},\n\nSomeone (hopefully you) asked to reset your SmartSupport password. This link works once, for ${d.expires_minutes} minutes:\n${d.reset_url}\n\nIf you did not ask for this, ignore this email; your password stays the same.${textFooter}`,
  }),
  ticket_status_changed: (d, ctx) => {
    const url = ticketUrl(ctx, d.ticket_number);
    return {
      subject: oneLine(`[${d.ticket_number}] Status changed to ${d.to_status}: ${d.subject}`),
      html: layout(`Ticket ${d.ticket_number}`, html`<p>Hello ${d.first_name},</p>
<p>The status of your ticket <strong>${d.ticket_number}</strong> — “${d.subject}” — changed from <strong>${d.from_status}</strong> to <strong>${d.to_status}</strong>.</p>
${d.comment ? raw(html`<blockquote style="border-left:3px solid #d0d7de;margin:0;padding-left:12px">${paragraphs(d.comment)}</blockquote>`) : raw('')}
${button(url, 'View the ticket')}
<p><a href="${url}">${url}</a></p>`),
      text: `Hello ${d.first_name},\n\nThe status of your ticket ${d.ticket_number} — "${d.subject}" — changed from ${d.from_status} to ${d.to_status}.\n${d.comment ? `\n${d.comment}\n` : ''}\nView the ticket: ${url}${textFooter}`,
    };
  },
  weekly_digest: (d) => ({
    subject: `SmartSupport weekly digest: ${d.week_start} – ${d.week_end}`,
    html: layout('Weekly digest', html`<p>Hello ${d.first_name},</p>
<p>Last week (${d.week_start} – ${d.week_end}, UTC) at the helpdesk:</p>
<table style="border-collapse:collapse">
<tr><td style="padding:2px 12px 2px 0">Tickets created</td><td><strong>${d.created}</strong></td></tr>
<tr><td style="padding:2px 12px 2px 0">Tickets resolved</td><td><strong>${d.resolved}</strong></td></tr>
<tr><td style="padding:2px 12px 2px 0">Backlog (open tickets)</td><td><strong>${d.backlog_start} → ${d.backlog_end}</strong></td></tr>
<tr><td style="padding:2px 12px 2px 0">First response p50</td><td><strong>${d.first_response_p50}</strong></td></tr>
<tr><td style="padding:2px 12px 2px 0">Resolution p50</td><td><strong>${d.resolution_p50}</strong></td></tr>
<tr><td style="padding:2px 12px 2px 0">Reopen rate</td><td><strong>${d.reopen_rate ?? '–'}</strong></td></tr>
</table>
<p>Top questions the FAQ did not answer:</p>
${d.top_questions.length ? raw(`<ol>${d.top_questions.map((x) => html`<li>${x.question} (${x.count}×)</li>`).join('')}</ol>`) : raw('<p>(none)</p>')}
<p style="color:#656d76">Turn an unanswered question into an FAQ with <code>smartsupport reports chat</code>; stop this mail with <code>smartsupport profile notifications set weekly_digest=off</code>.</p>`),
    text: `Hello ${d.first_name},\n\nLast week (${d.week_start} – ${d.week_end}, UTC) at the helpdesk:\n\n${digestText(d)}\n\nTurn an unanswered question into an FAQ with \`smartsupport reports chat\`; stop this mail with \`smartsupport profile notifications set weekly_digest=off\`.${textFooter}`,
  }),
  ticket_commented: (d, ctx) => {
    const url = ticketUrl(ctx, d.ticket_number);
    return {
      subject: oneLine(`[${d.ticket_number}] New comment from ${d.commenter_name}: ${d.subject}`),
      html: layout(`Ticket ${d.ticket_number}`, html`<p>Hello ${d.first_name},</p>
<p>${d.commenter_name} commented on your ticket <strong>${d.ticket_number}</strong> — “${d.subject}”:</p>
<blockquote style="border-left:3px solid #d0d7de;margin:0;padding-left:12px">${paragraphs(d.comment)}</blockquote>
${button(url, 'View the ticket')}
<p><a href="${url}">${url}</a></p>`),
      text: `Hello ${d.first_name},\n\n${d.commenter_name} commented on your ticket ${d.ticket_number} — "${d.subject}":\n\n${d.comment}\n\nView the ticket: ${url}${textFooter}`,
    };
  },
  sla_alert: (d, ctx) => {
    const url = ticketUrl(ctx, d.ticket_number);
    const what = d.target.replace(/_/g, ' ');
    const line = d.kind === 'breach' ? `The ${what} target of ticket ${d.ticket_number} was due at ${d.due} and has been breached.` : `The ${what} target of ticket ${d.ticket_number} is due at ${d.due}.`;
    return {
      subject: oneLine(`[${d.ticket_number}] SLA ${d.kind === 'breach' ? 'breached' : 'warning'}: ${what} — ${d.subject}`),
      html: layout(`Ticket ${d.ticket_number}`, html`<p>Hello ${d.first_name},</p>
<p>${line} (policy “${d.policy}”)</p>
${button(url, 'View the ticket')}
<p><a href="${url}">${url}</a></p>`),
      text: `Hello ${d.first_name},\n\n${line} (policy "${d.policy}")\n\nView the ticket: ${url}${textFooter}`,
    };
  },
  ticket_received: (d, ctx) => {
    const url = ticketUrl(ctx, d.ticket_number);
    const refused = d.refused_attachments.length ? `\nThese attachments were not accepted:\n${d.refused_attachments.map((r) => `- ${r}`).join('\n')}\n` : '';
    return {
      subject: oneLine(`[${d.ticket_number}] Received: ${d.subject}`),
      html: layout(`Ticket ${d.ticket_number}`, html`<p>Hello ${d.first_name},</p>
<p>We received your request and opened ticket <strong>${d.ticket_number}</strong> — “${d.subject}”. Reply to this email to add to it.</p>
${d.refused_attachments.length ? raw(html`<p>These attachments were not accepted:</p><ul>${raw(d.refused_attachments.map((r) => html`<li>${r}</li>`).join(''))}</ul>`) : raw('')}
${button(url, 'View the ticket')}
<p><a href="${url}">${url}</a></p>`),
      text: `Hello ${d.first_name},\n\nWe received your request and opened ticket ${d.ticket_number} — "${d.subject}". Reply to this email to add to it.\n${refused}\nView the ticket: ${url}${textFooter}`,
    };
  },
  inbound_bounce: (d) => ({
    subject: oneLine(`Not delivered: ${d.subject}`),
    html: layout('Message not accepted', html`<p>Hello,</p>
<p>Your message “${d.subject}” was not turned into a helpdesk ticket: this address accepts mail only from registered, approved employees. An administrator can review it.</p>
<p>If you are an employee, register or ask your IT department to approve your account, then write again.</p>`),
    text: `Hello,\n\nYour message "${d.subject}" was not turned into a helpdesk ticket: this address accepts mail only from registered, approved employees. An administrator can review it.\n\nIf you are an employee, register or ask your IT department to approve your account, then write again.${textFooter}`,
  }),
  announcement: (d) => ({
    subject: oneLine(`Announcement: ${d.title}`),
    html: layout(d.title, html`<p>Hello ${d.first_name},</p>
<h2 style="font-size:18px">${d.title}</h2>
<p>${paragraphs(d.body)}</p>`),
    text: `Hello ${d.first_name},\n\n${d.title}\n\n${d.body}${textFooter}`,
  }),
  webhook_disabled: (d) => ({
    subject: oneLine(`Webhook endpoint #${d.endpoint_id} was disabled`),
    html: layout('Webhook disabled', html`<p>Hello ${d.first_name},</p>
<p>The webhook endpoint <strong>#${d.endpoint_id}</strong> (${d.url}) was disabled: ${d.reason}.</p>
<p>Events are kept in the event log: after fixing the receiver, enable the endpoint again and fetch what it missed from <code>GET /api/events/?after=…</code> or redeliver from its delivery log.</p>`),
    text: `Hello ${d.first_name},\n\nThe webhook endpoint #${d.endpoint_id} (${d.url}) was disabled: ${d.reason}.\n\nEvents are kept in the event log: after fixing the receiver, enable the endpoint again (smartsupport webhooks update ${d.endpoint_id} --enabled) and fetch what it missed with \`smartsupport events list --after <id>\` or redeliver from its delivery log.${textFooter}`,
  }),
};

function digestText(d: EmailData['weekly_digest']): string {
  const q = d.top_questions.length ? d.top_questions.map((x, i) => `${i + 1}. ${x.question} (${x.count}×)`).join('\n') : '(none)';
  return [
    `Tickets created: ${d.created}`,
    `Tickets resolved: ${d.resolved}`,
    `Backlog (open tickets): ${d.backlog_start} → ${d.backlog_end}`,
    `First response p50: ${d.first_response_p50}`,
    `Resolution p50: ${d.resolution_p50}`,
    `Reopen rate: ${d.reopen_rate ?? '–'}`,
    '',
    'Top questions the FAQ did not answer:',
    q,
  ].join('\n');
}

export function renderEmail<K extends EmailTemplate>(template: K, data: EmailData[K], ctx: RenderContext): RenderedEmail {
  const r = RENDERERS[template] as Renderer<K> | undefined;
  if (!r) throw new Error(`unknown email template "${String(template)}"`);
  return r(data, ctx);
}
