/**
 * The built-in SMTP/LMTP receiver a company MTA relays to (INBOUND_SMTP_PORT). It accepts
 * recipients in INBOUND_DOMAINS only, enforces the size limit (SIZE advertised, and
 * `stream.sizeExceeded` checked → 552), optionally requires STARTTLS and AUTH, and answers 250 only
 * after the message is stored and its job committed. While the database (or the store) is
 * unavailable it answers 451, so the MTA keeps the message and tries again.
 */
import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { AppContext } from '../../app/context.js';
import { MessageTooLargeError, storeInbound } from './intake.js';

export interface RunningReceiver {
  port: number;
  close(): Promise<void>;
}

const smtpError = (code: number, message: string) => Object.assign(new Error(message), { responseCode: code });

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function startSmtpReceiver(app: AppContext, opts: { port?: number; host?: string } = {}): Promise<RunningReceiver> {
  const c = app.config.inbound;
  const tls = Boolean(c.tlsKeyFile && c.tlsCertFile);
  const auth = Boolean(c.smtpUser && c.smtpPassword);
  const options: SMTPServerOptions = {
    lmtp: c.lmtp,
    banner: 'SmartSupport inbound mail',
    size: c.maxBytes,
    logger: false,
    secure: false,
    authOptional: !auth,
    disabledCommands: [...(tls ? [] : ['STARTTLS']), ...(auth ? [] : ['AUTH'])],
    ...(tls ? { key: readFileSync(c.tlsKeyFile!), cert: readFileSync(c.tlsCertFile!) } : {}),
    // without TLS, AUTH is still allowed on loopback relays that need it (credentials are not hashed on the wire: use STARTTLS in production)
    allowInsecureAuth: !tls,
    onAuth(a, _session, cb) {
      if (a.method !== 'PLAIN' && a.method !== 'LOGIN') return cb(smtpError(504, 'Unsupported authentication mechanism'));
      if (same(a.username ?? '', c.smtpUser ?? '') && same(a.password ?? '', c.smtpPassword ?? '')) return cb(null, { user: a.username });
      app.log.warn({ username: a.username?.slice(0, 64) }, 'inbound SMTP: authentication failed');
      return cb(smtpError(535, 'Authentication failed'));
    },
    onMailFrom(_address, session, cb) {
      if (auth && !session.user) return cb(smtpError(530, 'Authentication required'));
      cb();
    },
    onRcptTo(address, _session, cb) {
      const domain = address.address.split('@').pop()?.toLowerCase() ?? '';
      if (!c.domains.includes(domain)) return cb(smtpError(550, `5.1.1 <${address.address}>: recipient domain not accepted here`));
      cb();
    },
    onData(stream, session, cb) {
      const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
      storeInbound(app, stream, { source: 'smtp', envelopeFrom: mailFrom, envelopeTo: session.envelope.rcptTo.map((r) => r.address.toLowerCase()) }).then(
        (r) => cb(null, r.stored ? `2.0.0 stored as ${r.id}` : '2.0.0 duplicate, already received'),
        (err: Error) => {
          if (err instanceof MessageTooLargeError || stream.sizeExceeded) return cb(smtpError(552, '5.3.4 Message exceeds the size limit'));
          app.log.warn({ err: err.message }, 'inbound SMTP: could not store message; asked the sender to retry');
          cb(smtpError(451, '4.3.0 Temporary failure, please try again later'));
        },
      );
    },
  };
  const server = new SMTPServer(options);
  server.on('error', (err) => app.log.warn({ err: err.message }, 'inbound SMTP server error'));
  const port = opts.port ?? c.smtpPort ?? 0;
  const host = opts.host ?? c.smtpHost;
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(port, host, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.server.address() as AddressInfo).port;
  app.log.info({ host, port: bound, lmtp: c.lmtp, tls, auth }, 'inbound SMTP receiver listening');
  return {
    port: bound,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
