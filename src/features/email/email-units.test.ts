/** Pure rules of the email channel: reply addresses, subject tags, trimming, guards' order. */
import t from 'tap';
import { messageIdList, signedReplyAddress, subjectAndCategory, subjectTicketToken, ticketFromRoot, verifyReplyAddress } from './addresses.js';
import { checkGuards } from './guards.js';
import { internalMarker, trimReply, type ParsedInbound } from './parse.js';

const SECRET = 'unit-secret-unit-secret-unit-secret-0123';

t.test('signed reply address round-trips and refuses tampering', async (t) => {
  const a = signedReplyAddress(SECRET, 'helpdesk@example.com', 'TX0042');
  t.match(a, /^helpdesk\+TX0042\.[0-9a-f]{12}@example\.com$/);
  t.equal(verifyReplyAddress(SECRET, a, 'helpdesk', ['example.com']), 'TX0042');
  t.equal(verifyReplyAddress(SECRET, a.toUpperCase().replace('HELPDESK', 'helpdesk'), 'helpdesk', ['example.com']), 'TX0042', 'case of the MAC does not matter');
  t.equal(verifyReplyAddress(SECRET, a.replace('TX0042', 'TX0043'), 'helpdesk', ['example.com']), undefined, 'another ticket number with the same MAC');
  t.equal(verifyReplyAddress('another-secret-another-secret-0000000', a, 'helpdesk', ['example.com']), undefined, 'another installation');
  t.equal(verifyReplyAddress(SECRET, a.replace('@example.com', '@evil.test'), 'helpdesk', ['example.com']), undefined, 'foreign domain');
  t.equal(verifyReplyAddress(SECRET, a.replace('helpdesk+', 'sales+'), 'helpdesk', ['example.com']), undefined, 'another mailbox');
});

t.test('subjects', async (t) => {
  t.same(subjectAndCategory('Re: Fwd: [Hardware] Laptop [TX0042] broken'), { subject: 'Laptop broken', category: 'Hardware' });
  t.same(subjectAndCategory('   '), { subject: '(no subject)', category: undefined });
  t.equal(subjectTicketToken('Re: [tx0042] hi'), 'TX0042');
  t.equal(subjectTicketToken('TX0042 without brackets'), undefined);
  t.equal(ticketFromRoot('ticket-TX0042@example.com', 'example.com'), 'TX0042');
  t.equal(ticketFromRoot('ticket-TX0042@other.test', 'example.com'), undefined);
  t.same(messageIdList(['<a@x> <b@y>', '<a@x>']), ['a@x', 'b@y']);
});

t.test('trimming replies', async (t) => {
  t.equal(trimReply('New text.\n\nOn Mon, 30 Nov 2026 at 09:00, Bob <b@x> wrote:\n> old\n> older'), 'New text.');
  t.equal(trimReply('New.\nOn Mon, 30 Nov 2026 at 09:00, Bob <b@x>\nwrote:\n> old'), 'New.', 'wrapped attribution line');
  t.equal(trimReply('Top.\n\n-----Original Message-----\nFrom: x'), 'Top.');
  t.equal(trimReply('Top.\n\nFrom: Bob\nSent: Monday\nTo: us\nSubject: x\n\nold'), 'Top.', 'Outlook header block');
  t.equal(trimReply('Hi\n-- \nSig'), 'Hi');
  t.equal(trimReply('Hi\n\nSent from my iPhone'), 'Hi');
  t.equal(trimReply('> only quoted\n> text'), '> only quoted\n> text', 'nothing left: the original is kept');
  t.equal(trimReply('a\n> inline quote\nb'), 'a\n> inline quote\nb', 'interleaved quotes are kept');
  t.same(internalMarker('\n#internal\nnote', '#internal'), { internal: true, text: 'note' });
  t.same(internalMarker('text\n#internal', '#internal'), { internal: false, text: 'text\n#internal' });
});

t.test('guards: order and reasons', async (t) => {
  const mail = (headers: Record<string, string>, over: Partial<ParsedInbound> = {}): ParsedInbound => ({
    messageId: 'm@x', from: 'alice@corp.test', fromName: undefined, recipients: [], subject: 's', inReplyTo: [], references: [], text: 't',
    header: (n) => headers[n.toLowerCase()], contentType: undefined, attachments: [], ...over,
  });
  const ctx = { loopToken: 'tok@example.com', ownAddresses: ['helpdesk@example.com'], envelopeFrom: 'alice@corp.test', ownMessageId: false };
  t.equal(checkGuards(mail({}), ctx), undefined, 'an ordinary mail passes');
  t.equal(checkGuards(mail({ 'auto-submitted': 'no' }), ctx), undefined, 'Auto-Submitted: no passes');
  t.equal(checkGuards(mail({ 'x-smartsupport-loop': 'tok@example.com', 'auto-submitted': 'auto-generated' }), ctx)?.guard, 'own_loop_header', 'our loop header wins over auto-submitted');
  t.equal(checkGuards(mail({ 'x-smartsupport-loop': 'someone-else@x' }), ctx), undefined, 'a foreign loop token is not ours');
  t.equal(checkGuards(mail({}), { ...ctx, ownMessageId: true })?.action, 'drop');
  t.equal(checkGuards(mail({}, { from: 'helpdesk@example.com' }), ctx)?.guard, 'own_address');
  t.equal(checkGuards(mail({ 'auto-submitted': 'auto-replied' }, { contentType: { value: 'multipart/report', params: { 'report-type': 'delivery-status' } } }), ctx)?.guard, 'bounce_dsn', 'a DSN is a bounce even with Auto-Submitted');
  t.equal(checkGuards(mail({}, { from: 'MAILER-DAEMON@mx.test' }), ctx)?.action, 'bounce');
  t.equal(checkGuards(mail({}), { ...ctx, envelopeFrom: '' })?.guard, 'bounce_sender', 'null sender');
  t.equal(checkGuards(mail({}), { ...ctx, envelopeFrom: null }), undefined, 'unknown envelope (IMAP) is not a bounce');
  t.equal(checkGuards(mail({ 'auto-submitted': 'auto-replied' }), ctx)?.action, 'ignore');
  t.equal(checkGuards(mail({ precedence: 'bulk' }), ctx)?.guard, 'precedence');
  t.equal(checkGuards(mail({ 'x-autoreply': 'yes' }), ctx)?.guard, 'auto_reply_header');
});
