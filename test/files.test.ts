/**
 * Files: ticket attachments, profile images and /media/ serving, with real files built in the test.
 * Upload validation (type from content, size, names), cleanup after rejections, permissions for every
 * access path, signed URLs, Range, response headers and the access log.
 */
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import t from 'tap';
import { deleteTicketFiles, storeTicketAttachments } from '../src/features/files/attachments-service.js';
import { LocalDiskStore, InvalidKeyError } from '../src/features/files/storage.js';
import { sweepStaleUploads } from '../src/features/files/sweep.js';
import { signResource } from '../src/lib/signed-urls.js';
import { createTicket, elf, filesUnder, form, gif, jpeg, pdf, pixelBombPng, png, svgWithScript, zip } from './helpers/files.js';
import { createApiKey, createEmployee, signedIn, startTestApp, TEST_JWT_SECRET, tokenFor } from './helpers/harness.js';

const ta = await startTestApp(t, { env: { MAX_UPLOAD_MB: '2', PUBLIC_URL: 'http://files.test' } });
const media = path.join(ta.dataDir, 'media');
const tmp = path.join(ta.dataDir, 'tmp');

const owner = await signedIn(ta, { role: 'Employee' });
const other = await signedIn(ta, { role: 'Employee' });
const coordinator = await signedIn(ta, { role: 'Ticket Coordinator' });
const admin = await signedIn(ta, { role: 'System Admin' });
const mediaKey = await createApiKey(ta.db, { role: 'System Admin', scopes: ['media:read'] });
const writeKey = await createApiKey(ta.db, { role: 'System Admin', scopes: ['tickets:write'] });
const ticket = await createTicket(ta.db, owner.user.id);

const attach = (ticketRef: string | number, files: { data: Buffer; name: string }[], auth: { token?: string; apiKey?: string } = { token: owner.token }) =>
  ta.api.post(`/api/tickets/${ticketRef}/attachments/`, undefined, { raw: form('files[]', files), ...auth });

/** GET without the spec check, returning the raw bytes. */
async function fetchBytes(p: string, headers: Record<string, string> = {}) {
  const res = await fetch(new URL(p, ta.url), { headers });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

/** A request with the path sent exactly as written (no client-side normalisation of `..`/`%2e`). */
function rawGet(rawPath: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const u = new URL(ta.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method: 'GET', path: rawPath, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function attachmentFiles() {
  return filesUnder(path.join(media, 'ticket_attachments'));
}

async function settle<T>(fn: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  let v = await fn();
  for (let i = 0; i < 100 && !ok(v); i++) {
    await new Promise((r) => setTimeout(r, 20));
    v = await fn();
  }
  return v;
}

let jpegId = 0;
let pdfId = 0;
let pngAsPdf: { id: number; url: string } | undefined;

t.test('JPEG, PNG, PDF, zip and text are accepted; type comes from content; names are sanitised metadata', async (t) => {
  const res = await attach(ticket.ticket_number, [
    { data: await jpeg(), name: 'photo.jpg' },
    { data: await png(), name: 'scan.pdf' },
    { data: pdf(), name: 'invoice.pdf' },
    { data: zip(), name: 'logs.zip' },
    { data: Buffer.from('a,b\n1,2\n'), name: 'data.csv' },
    { data: Buffer.from('root:x:0:0:root:/root:/bin/bash\n'), name: '../../etc/passwd' },
  ]);
  t.equal(res.status, 201, res.text);
  const [a, b, c, d, e, f] = res.body.data;
  t.match(a, { file_name: 'photo.jpg', file_type: 'image/jpeg' });
  t.match(b, { file_name: 'scan.png', file_type: 'image/png' }, 'a PNG named .pdf is stored and named as PNG');
  t.match(c, { file_name: 'invoice.pdf', file_type: 'application/pdf' });
  t.match(d, { file_name: 'logs.zip', file_type: 'application/zip' });
  t.match(e, { file_name: 'data.csv', file_type: 'text/csv' });
  t.equal(f.file_type, 'text/plain');
  t.notMatch(f.file_name, /[\\/]|\.\./, 'no path in the stored name');
  t.match(a.url, /^http:\/\/files\.test\/api\/attachments\/\d+\/download\/\?signature=/);
  jpegId = a.id;
  pdfId = c.id;
  pngAsPdf = { id: b.id, url: b.url };

  const rows = await ta.db('ticket_attachments').where({ ticket_id: ticket.id }).orderBy('id');
  t.equal(rows.length, 6);
  for (const r of rows) t.match(r.storage_key, /^ticket_attachments\/[0-9a-f]{32}\.(jpg|png|pdf|zip|csv|txt)$/, 'server-chosen key');
  t.equal(rows.find((r) => r.id === b.id)?.storage_key.endsWith('.png'), true);
  t.equal((await attachmentFiles()).length, 6);
  const history = await ta.db('ticket_history').where({ ticket_id: ticket.id, event: 'attachment_added' });
  t.equal(history.length, 6, 'one history entry per file');
  t.equal(Number(history[0].actor_id), owner.user.id);
  t.same(await filesUnder(tmp), [], 'no temp files left');

  // records follow the order the files were sent in, even when a later, smaller one finishes first
  const ordered = await attach(ticket.id, [{ data: zip('big.bin', Buffer.alloc(1_800_000, 3)), name: 'first.zip' }, { data: Buffer.from('tiny'), name: 'second.txt' }]);
  t.same(ordered.body.data.map((a: { file_name: string }) => a.file_name), ['first.zip', 'second.txt']);
});

t.test('rejected uploads leave nothing on disk or in the database', async (t) => {
  const before = (await attachmentFiles()).length;
  const count = async () => Number((await ta.db('ticket_attachments').count('* as n'))[0].n);
  const rowsBefore = await count();

  const exe = await attach(ticket.id, [{ data: await jpeg(), name: 'ok.jpg' }, { data: elf(), name: 'holiday.jpg' }]);
  t.equal(exe.status, 415);
  t.equal(exe.body.code, 'unsupported_media_type');
  t.match(exe.headers.get('content-type'), /application\/problem\+json/);

  const svg = await attach(ticket.id, [{ data: svgWithScript(), name: 'logo.svg' }]);
  t.equal(svg.status, 415, 'SVG with script refused');
  const svgAsTxt = await attach(ticket.id, [{ data: svgWithScript(), name: 'notes.txt' }]);
  t.equal(svgAsTxt.status, 415, 'markup is not plain text');
  const html = await attach(ticket.id, [{ data: Buffer.from('hello <script>alert(1)</script>'), name: 'a.txt' }]);
  t.equal(html.status, 415);
  const binary = await attach(ticket.id, [{ data: Buffer.from([0x41, 0x00, 0x42]), name: 'nul.txt' }]);
  t.equal(binary.status, 415, 'text with NUL refused');

  const big = await attach(ticket.id, [{ data: Buffer.alloc(3 * 1024 * 1024, 'a'), name: 'big.txt' }]);
  t.equal(big.status, 413, 'over MAX_UPLOAD_MB');
  t.equal(big.body.code, 'too_large');

  const many = await attach(ticket.id, Array.from({ length: 11 }, (_, i) => ({ data: Buffer.from(`f${i}`), name: `f${i}.txt` })));
  t.equal(many.status, 413, 'more than 10 files');

  t.equal((await attachmentFiles()).length, before, 'no stored file');
  t.equal(await count(), rowsBefore, 'no rows');
  t.same(await filesUnder(tmp), [], 'no temp files');
});

t.test('requests over the file count, repeated, never leave a temp file behind (formidable opens the extra file after it has failed the request)', async (t) => {
  const files = Array.from({ length: 11 }, (_, i) => ({ data: Buffer.alloc(64 * 1024, i), name: `f${i}.bin` }));
  for (let i = 0; i < 25; i++) {
    const res = await attach(ticket.id, files);
    t.equal(res.status, 413);
  }
  t.same(await filesUnder(tmp), [], 'no temp files');
});

t.test('a failed transaction removes the files it stored', async (t) => {
  const before = (await attachmentFiles()).length;
  const { mkdir, writeFile } = await import('node:fs/promises');
  await mkdir(tmp, { recursive: true });
  const file = path.join(tmp, 'upload-under-test');
  await writeFile(file, pdf());
  await t.rejects(
    ta.app.db.transaction(async (trx) => {
      const rows = await storeTicketAttachments(ta.app, trx, ticket.id, [{ filepath: file, originalFilename: 'x.pdf', size: pdf().length }], owner.user.id);
      t.equal(rows.length, 1);
      throw new Error('later step failed');
    }),
    /later step failed/,
  );
  const after = await settle(attachmentFiles, (v) => v.length === before);
  t.equal(after.length, before, 'stored file removed after rollback');
});

t.test('who may upload', async (t) => {
  t.equal((await attach(ticket.id, [{ data: pdf(), name: 'x.pdf' }], { token: other.token })).status, 404, 'another employee');
  t.equal((await attach(999999, [{ data: pdf(), name: 'x.pdf' }])).status, 404, 'no such ticket');
  const none = await ta.api.post(`/api/tickets/${ticket.id}/attachments/`, undefined, { raw: form('note', []), token: owner.token });
  t.match({ status: none.status, code: none.body.code }, { status: 400, code: 'validation_failed' }, 'no file at all');
  t.equal((await attach(ticket.id, [{ data: pdf(), name: 'x.pdf' }], { token: coordinator.token })).status, 201, 'coordinator');
  const byKey = await attach(ticket.id, [{ data: pdf(), name: 'k.pdf' }], { apiKey: writeKey.key });
  t.equal(byKey.status, 201, 'API key with tickets:write');
  t.equal(byKey.body.data[0].uploaded_by, null);
  t.equal((await attach(ticket.id, [{ data: pdf(), name: 'x.pdf' }], { apiKey: mediaKey.key })).status, 403, 'API key without tickets:write');
  t.equal((await attach(ticket.id, [{ data: pdf(), name: 'x.pdf' }], {})).status, 401);
  const anonBig = await attach(ticket.id, [{ data: Buffer.alloc(3 * 1024 * 1024, 'a'), name: 'big.txt' }], {});
  t.equal(anonBig.status, 401, 'credentials are checked before the body is read (401, not 413)');
  const forbiddenBig = await attach(ticket.id, [{ data: Buffer.alloc(3 * 1024 * 1024, 'a'), name: 'big.txt' }], { apiKey: mediaKey.key });
  t.equal(forbiddenBig.status, 403, 'scope is checked before the body is read');
  t.same(await filesUnder(tmp), []);
});

t.test('download: permissions for every access path', async (t) => {
  const p = `/api/attachments/${pdfId}/download/`;
  const expectPdf = async (res: Awaited<ReturnType<typeof ta.api.get>>, what: string) => {
    t.equal(res.status, 200, what);
    if (res.status === 200) t.ok(res.text.startsWith('%PDF-1.4'), `${what}: the file`);
  };
  await expectPdf(await ta.api.get(p, { token: owner.token }), 'owner (Bearer)');
  await expectPdf(await ta.api.get(p, { query: { token: owner.token } }), 'owner (?token=)');
  t.equal((await ta.api.get(p, { token: other.token })).status, 404, 'another employee');
  t.equal((await ta.api.get(p, { query: { token: other.token } })).status, 404, 'another employee (?token=)');
  await expectPdf(await ta.api.get(p, { token: coordinator.token }), 'coordinator');
  await expectPdf(await ta.api.get(p, { token: admin.token }), 'admin');
  await expectPdf(await ta.api.get(p, { apiKey: mediaKey.key }), 'API key with media:read');
  await expectPdf(await ta.api.get(p, { query: { api_key: mediaKey.key } }), 'API key with media:read (?api_key=)');
  const noScope = await ta.api.get(p, { apiKey: writeKey.key });
  t.equal(noScope.status, 403, 'API key without media:read');
  t.equal(noScope.body.code, 'insufficient_scope');
  t.equal((await ta.api.get(p)).status, 401, 'anonymous');
  t.equal((await ta.api.get('/api/attachments/999999/download/', { token: admin.token })).status, 404, 'missing');

  const sig = signResource(TEST_JWT_SECRET, `attachment:${pdfId}`, 60);
  await expectPdf(await ta.api.get(p, { query: { signature: sig } }), 'valid signature');
  await expectPdf(await ta.api.get(p, { query: { signature: sig }, token: other.token }), 'valid signature with another person');
  t.equal((await ta.api.get(`/api/attachments/${jpegId}/download/`, { query: { signature: sig } })).status, 404, 'signature for another file');
  const expired = signResource(TEST_JWT_SECRET, `attachment:${pdfId}`, 60, Math.floor(Date.now() / 1000) - 3600);
  const exp = await ta.api.get(p, { query: { signature: expired } });
  t.equal(exp.status, 401, 'expired signature');
  t.equal(exp.body.code, 'invalid_signature');
  const [payload, mac] = sig.split('.');
  const forged = Buffer.from(JSON.stringify({ r: `attachment:${jpegId}`, e: Math.floor(Date.now() / 1000) + 60 })).toString('base64url');
  t.equal((await ta.api.get(p, { query: { signature: `${payload}.${mac[0] === 'A' ? 'B' : 'A'}${mac.slice(1)}` } })).status, 401, 'tampered mac');
  t.equal((await ta.api.get(`/api/attachments/${jpegId}/download/`, { query: { signature: `${forged}.${mac}` } })).status, 401, 'tampered payload');
  t.equal((await ta.api.get(p, { query: { signature: signResource('another-secret-another-secret-another', `attachment:${pdfId}`, 60) } })).status, 401, 'wrong key');

  // the URL handed out in the upload response works on its own
  const fromResponse = new URL(pngAsPdf!.url);
  const viaUrl = await fetchBytes(`${fromResponse.pathname}${fromResponse.search}`);
  t.equal(viaUrl.status, 200);
  t.equal(viaUrl.headers.get('content-type'), 'image/png');

  // access log: granted and denied, with who
  const log = await ta.db('file_access_log').where({ attachment_id: pdfId }).orderBy('id');
  t.ok(log.some((r) => r.result === 'granted' && r.actor_kind === 'user' && Number(r.actor_id) === owner.user.id));
  t.ok(log.some((r) => r.result === 'denied' && Number(r.actor_id) === other.user.id && r.status === 404));
  t.ok(log.some((r) => r.result === 'denied' && r.actor_kind === 'api_key' && Number(r.actor_id) === writeKey.id && r.status === 403));
  t.ok(log.some((r) => r.result === 'granted' && r.actor_kind === 'signed_url'));
  t.ok(log.every((r) => r.created_at instanceof Date && r.operation === 'downloadAttachment'));
});

t.test('download headers and Range', async (t) => {
  const [row] = await ta.db('ticket_attachments').insert({ ticket_id: ticket.id, storage_key: 'ticket_attachments/0123456789abcdef0123456789abcdef.txt', file_name: 'Überblick "Q4"; report.txt', file_type: 'text/plain', file_size: 26 }).returning('id');
  const { writeFile } = await import('node:fs/promises');
  await writeFile(path.join(media, 'ticket_attachments', '0123456789abcdef0123456789abcdef.txt'), 'abcdefghijklmnopqrstuvwxyz');
  const p = `/api/attachments/${row.id}/download/`;
  const full = await ta.api.get(p, { token: owner.token });
  t.equal(full.status, 200);
  t.equal(full.text, 'abcdefghijklmnopqrstuvwxyz');
  t.equal(full.headers.get('content-type'), 'text/plain');
  t.equal(full.headers.get('content-disposition'), `attachment; filename="_berblick _Q4_; report.txt"; filename*=UTF-8''%C3%9Cberblick%20%22Q4%22%3B%20report.txt`);
  t.equal(full.headers.get('x-content-type-options'), 'nosniff');
  t.match(full.headers.get('cache-control'), /^private/);
  t.match(full.headers.get('content-security-policy'), /sandbox/);
  t.equal(full.headers.get('accept-ranges'), 'bytes');
  t.equal(full.headers.get('content-length'), '26');

  const part = await ta.api.get(p, { token: owner.token, headers: { Range: 'bytes=2-5' } });
  t.equal(part.status, 206);
  t.equal(part.text, 'cdef');
  t.equal(part.headers.get('content-range'), 'bytes 2-5/26');
  const suffix = await ta.api.get(p, { token: owner.token, headers: { Range: 'bytes=-3' } });
  t.equal(suffix.status, 206);
  t.equal(suffix.text, 'xyz');
  const open = await ta.api.get(p, { token: owner.token, headers: { Range: 'bytes=24-' } });
  t.equal(open.text, 'yz');
  const bad = await ta.api.get(p, { token: owner.token, headers: { Range: 'bytes=100-200' } });
  t.equal(bad.status, 416);
  t.equal(bad.headers.get('content-range'), 'bytes */26');
  t.equal(bad.body.code, 'range_not_satisfiable');
  t.notOk(bad.headers.get('content-disposition'), 'errors are not downloads');

  // a large binary file: ranges return exactly the right bytes
  const big = Buffer.alloc(1_500_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 251;
  const up = await attach(ticket.id, [{ data: zip('big.bin', big), name: 'big.zip' }]);
  t.equal(up.status, 201);
  const stored = await fetchBytes(`/api/attachments/${up.body.data[0].id}/download/`, { Authorization: `Bearer ${owner.token}` });
  const mid = await fetchBytes(`/api/attachments/${up.body.data[0].id}/download/`, { Authorization: `Bearer ${owner.token}`, Range: 'bytes=1000000-1000999' });
  t.equal(mid.status, 206);
  t.equal(mid.bytes.length, 1000);
  t.ok(mid.bytes.equals(stored.bytes.subarray(1000000, 1001000)));
});

let ownerImage = '';

t.test('profile image: resized to 1024×1024 WebP without EXIF; the old one is removed', async (t) => {
  const upload = (data: Buffer, name: string, token = owner.token) => ta.api.post('/api/employee/upload-image/', undefined, { raw: form('image', [{ data, name }]), token });
  const withExif = await jpeg(1600, 900, true);
  t.ok((await sharp(withExif).metadata()).exif, 'the input really has EXIF');
  const first = await upload(withExif, 'me.jpg');
  t.equal(first.status, 200, first.text);
  t.match(first.body.image, /^employee_images\/[0-9a-f]{32}\.webp$/);
  t.match(first.body.image_url, /^http:\/\/files\.test\/media\/employee_images\/[0-9a-f]{32}\.webp\?signature=/);
  const row = await ta.db('employees').where({ id: owner.user.id }).first('image');
  t.equal(row.image, first.body.image);
  const served = await fetchBytes(`/media/${first.body.image}`, { Authorization: `Bearer ${owner.token}` });
  t.equal(served.status, 200);
  t.equal(served.headers.get('content-type'), 'image/webp');
  const meta = await sharp(served.bytes).metadata();
  t.equal(meta.width, 1024);
  t.equal(meta.height, 1024);
  t.equal(meta.format, 'webp');
  t.notOk(meta.exif, 'no EXIF');
  t.notOk(meta.icc, 'no ICC profile');
  t.notOk(meta.xmp, 'no XMP');
  t.notOk(served.bytes.includes(Buffer.from('secret-owner')), 'metadata text gone');

  const second = await upload(await png(300, 500), 'me2.png');
  t.equal(second.status, 200);
  t.not(second.body.image, first.body.image);
  const onDisk = await filesUnder(path.join(media, 'employee_images'));
  t.notOk(onDisk.includes(path.basename(first.body.image)), 'previous image removed');
  t.ok(onDisk.includes(path.basename(second.body.image)));
  t.ok(onDisk.includes('default-profile.png'), 'the default image exists');
  ownerImage = second.body.image;

  const webp = await upload(await sharp(await png(50, 50)).webp().toBuffer(), 'x.webp', other.token);
  t.equal(webp.status, 200, 'WebP accepted');
});

t.test('employees carry image_url: a short-lived signed URL of their image, or of the default one', async (t) => {
  const viaUrl = (u: string) => {
    const url = new URL(u);
    return fetchBytes(`${url.pathname}${url.search}`); // no credentials: the signature alone opens it
  };
  const mine = await ta.api.get('/api/employee/profile/', { token: owner.token });
  t.equal(mine.status, 200);
  t.equal(mine.body.image, ownerImage);
  t.match(mine.body.image_url, new RegExp(`^http://files\\.test/media/${ownerImage}\\?signature=`));
  const img = await viaUrl(mine.body.image_url);
  t.equal(img.status, 200, 'the URL downloads the image');
  t.equal(img.headers.get('content-type'), 'image/webp');
  t.equal((await sharp(img.bytes).metadata()).format, 'webp');

  const bare = { user: await createEmployee(ta.db, { role: 'Employee', password: 'correct horse battery' }) };
  const plain = await ta.api.get('/api/employee/profile/', { token: await tokenFor(ta.app, bare.user) });
  t.equal(plain.body.image, null);
  t.match(plain.body.image_url, /^http:\/\/files\.test\/media\/employee_images\/default-profile\.png\?signature=/, 'no image: the default one');
  const def = await viaUrl(plain.body.image_url);
  t.equal(def.status, 200);
  t.equal(def.headers.get('content-type'), 'image/png');

  // the login's user, an account and the list carry it too
  const signedInUser = await ta.api.post('/api/token/employee/', { email: bare.user.email, password: 'correct horse battery' });
  t.equal(signedInUser.status, 200, signedInUser.text);
  t.match(signedInUser.body.user.image_url, /default-profile\.png\?signature=/);
  const shown = await ta.api.get(`/api/employees/${other.user.id}/`, { token: admin.token });
  t.match(shown.body.image, /^employee_images\/[0-9a-f]{32}\.webp$/);
  t.equal(new URL(shown.body.image_url).pathname, `/media/${shown.body.image}`);
  const list = await ta.api.get('/api/employees/', { token: admin.token, query: { limit: 100 } });
  t.ok(list.body.data.length >= 4);
  for (const e of list.body.data) t.equal(new URL(e.image_url).pathname, `/media/${e.image ?? 'employee_images/default-profile.png'}`, `list: ${e.company_id}`);

  // a signature opens only the file it was issued for: not another person's image, nor the default one
  const sig = encodeURIComponent(new URL(mine.body.image_url).searchParams.get('signature')!);
  t.equal((await fetchBytes(`/media/${shown.body.image}?signature=${sig}`)).status, 404, "owner's signature on another person's image");
  t.equal((await fetchBytes(`/media/employee_images/default-profile.png?signature=${sig}`)).status, 404, "owner's signature on the default image");
  const otherSig = encodeURIComponent(new URL(shown.body.image_url).searchParams.get('signature')!);
  t.equal((await fetchBytes(`/media/${ownerImage}?signature=${otherSig}`)).status, 404, "another person's signature on the owner's image");
});

t.test('profile image rejections leave nothing behind', async (t) => {
  const upload = (data: Buffer, name: string) => ta.api.post('/api/employee/upload-image/', undefined, { raw: form('image', [{ data, name }]), token: admin.token });
  const before = await filesUnder(path.join(media, 'employee_images'));
  const bomb = await upload(pixelBombPng(), 'bomb.png');
  t.equal(bomb.status, 413, 'a 20 000×20 000 image is refused before decoding');
  t.equal(bomb.body.code, 'too_large');
  t.equal((await upload(await gif(), 'a.gif')).status, 415, 'GIF is not a profile image type');
  t.equal((await upload(pdf(), 'a.jpg')).status, 415, 'PDF named .jpg');
  t.equal((await upload(elf(), 'a.jpg')).status, 415, 'executable named .jpg');
  t.equal((await upload(svgWithScript(), 'a.png')).status, 415, 'SVG');
  t.equal((await upload(Buffer.concat([await jpeg(), Buffer.alloc(3 * 1024 * 1024)]), 'big.jpg')).status, 413, 'over the size limit');
  const truncated = (await jpeg(400, 400)).subarray(0, 300);
  t.equal((await upload(truncated, 'broken.jpg')).status, 415, 'undecodable image');
  t.same(await filesUnder(path.join(media, 'employee_images')), before, 'no new files');
  t.equal((await ta.db('employees').where({ id: admin.user.id }).first('image')).image, null);
  t.same(await filesUnder(tmp), []);
  const key = await ta.api.post('/api/employee/upload-image/', undefined, { raw: form('image', [{ data: await png(), name: 'a.png' }]), apiKey: mediaKey.key });
  t.equal(key.status, 403, 'API keys have no profile');
});

t.test('/media/: permissions', async (t) => {
  const [att] = await ta.db('ticket_attachments').where({ id: jpegId }).select('storage_key');
  const attPath = `/media/${att.storage_key}`;
  const imgPath = `/media/${ownerImage}`;
  const get = (p: string, o: Parameters<typeof ta.api.get>[1] = {}) => ta.api.get(p, o).then((r) => r.status);
  t.equal(await get(attPath, { token: owner.token }), 200, 'owner: own attachment');
  t.equal(await get(attPath, { query: { token: owner.token } }), 200, 'owner: ?token=');
  t.equal(await get(imgPath, { token: owner.token }), 200, 'owner: own image');
  t.equal(await get(attPath, { token: other.token }), 404, 'other employee: attachment');
  t.equal(await get(imgPath, { token: other.token }), 404, 'other employee: image');
  t.equal(await get('/media/employee_images/default-profile.png', { token: other.token }), 200, 'default image for anyone signed in');
  t.equal(await get(attPath, { token: coordinator.token }), 200, 'coordinator');
  t.equal(await get(imgPath, { token: admin.token }), 200, 'admin');
  t.equal(await get(attPath, { apiKey: mediaKey.key }), 200, 'API key with media:read');
  t.equal(await get(imgPath, { query: { api_key: mediaKey.key } }), 200, 'API key with media:read (?api_key=)');
  t.equal(await get(attPath, { apiKey: writeKey.key }), 403, 'API key without media:read');
  t.equal(await get(attPath), 401, 'anonymous');
  const sig = signResource(TEST_JWT_SECRET, `media:${ownerImage}`, 60);
  t.equal(await get(imgPath, { query: { signature: sig } }), 200, 'signature');
  t.equal(await get(attPath, { query: { signature: sig } }), 404, 'signature for another file');
  t.equal(await get(imgPath, { query: { signature: signResource(TEST_JWT_SECRET, `media:${ownerImage}`, 60, 1000) } }), 401, 'expired signature');
  t.equal(await get('/media/ticket_attachments/ffffffffffffffffffffffffffffffff.pdf', { token: admin.token }), 404, 'missing file');
  t.equal(await get('/media/pg/PG_VERSION', { token: admin.token }), 404, 'outside the areas');

  const served = await ta.api.get(attPath, { token: owner.token });
  t.equal(served.headers.get('content-type'), 'image/jpeg');
  t.match(served.headers.get('content-disposition'), /^attachment; filename="photo\.jpg"/);
  t.equal(served.headers.get('x-content-type-options'), 'nosniff');
  const denied = await ta.db('file_access_log').where({ operation: 'getMedia', result: 'denied' });
  t.ok(denied.length >= 3, 'denials are logged');
});

t.test('/media/: traversal and odd paths never leave the media root', async (t) => {
  const { writeFile } = await import('node:fs/promises');
  await writeFile(path.join(ta.dataDir, 'secret.txt'), 'TOP-SECRET');
  const auth = { Authorization: `Bearer ${admin.token}` };
  const attempts = [
    '/media/../secret.txt',
    '/media/employee_images/../../secret.txt',
    '/media/employee_images/..%2f..%2fsecret.txt',
    '/media/employee_images/..%2F..%2Fsecret.txt',
    '/media/%2e%2e/%2e%2e/secret.txt',
    '/media/employee_images/%2e%2e%2f%2e%2e%2fsecret.txt',
    '/media/employee_images/%252e%252e%252f%252e%252e%252fsecret.txt',
    '/media/employee_images/..%252f..%252fsecret.txt',
    '/media/employee_images/..%5c..%5csecret.txt',
    '/media/employee_images/..\\..\\secret.txt',
    '/media/employee_images/default-profile.png%00.txt',
    '/media/%2fetc/passwd',
    '/media/employee_images/%2fetc%2fpasswd',
    '/media//etc/passwd',
    '/media/..%2f../secret.txt',
    '/media/employee_images/.%2e/.%2e/secret.txt',
  ];
  for (const p of attempts) {
    const res = await rawGet(p, auth);
    t.ok([400, 404].includes(res.status), `${p} → ${res.status}`);
    t.notMatch(res.body, /TOP-SECRET|root:x:0/, `${p} leaks nothing`);
  }
  const logged = await ta.db('file_access_log').where({ result: 'invalid_path' });
  t.ok(logged.length > 0, 'refused paths are logged');

  const store = new LocalDiskStore(media);
  for (const key of ['../secret.txt', 'employee_images/../../secret.txt', '/etc/passwd', 'employee_images/a\0.png', 'employee_images/%2e%2e', 'other/x.png', 'employee_images/sub/x.png']) {
    t.throws(() => store.resolve(key), InvalidKeyError, `store refuses ${JSON.stringify(key)}`);
  }
});

t.test('deleting a ticket removes its files', async (t) => {
  const doomed = await createTicket(ta.db, owner.user.id);
  const up = await attach(doomed.id, [{ data: pdf(), name: 'a.pdf' }, { data: await png(), name: 'b.png' }]);
  t.equal(up.status, 201);
  const keys: string[] = await ta.db('ticket_attachments').where({ ticket_id: doomed.id }).pluck('storage_key');
  t.equal(keys.length, 2);
  await ta.app.db.transaction(async (trx) => {
    await deleteTicketFiles(ta.app, trx, doomed.id);
    await trx('tickets').where({ id: doomed.id }).del();
  });
  const left = await settle(attachmentFiles, (v) => !keys.some((k) => v.includes(path.basename(k))));
  t.notOk(keys.some((k) => left.includes(path.basename(k))), 'files gone');
  t.equal((await ta.db('ticket_attachments').whereIn('storage_key', keys)).length, 0, 'rows gone');

  // a rolled-back delete keeps the files
  const kept = await createTicket(ta.db, owner.user.id);
  await attach(kept.id, [{ data: pdf(), name: 'c.pdf' }]);
  const [keptKey] = await ta.db('ticket_attachments').where({ ticket_id: kept.id }).pluck('storage_key');
  await t.rejects(
    ta.app.db.transaction(async (trx) => {
      await deleteTicketFiles(ta.app, trx, kept.id);
      await trx('tickets').where({ id: kept.id }).del();
      throw new Error('abort');
    }),
  );
  t.ok((await readFile(path.join(media, keptKey))).length > 0, 'file kept after rollback');
});

t.test('start-up sweep removes only stale leftovers', async (t) => {
  const { mkdir, writeFile, utimes } = await import('node:fs/promises');
  const staleDir = path.join(tmp, 'crashed-request');
  const freshDir = path.join(tmp, 'in-flight-request');
  await mkdir(staleDir, { recursive: true });
  await mkdir(freshDir, { recursive: true });
  await writeFile(path.join(staleDir, 'part'), 'x');
  const half = path.join(media, 'ticket_attachments', 'abc.pdf.tmp-123456');
  await writeFile(half, 'partial');
  const past = new Date(Date.now() - 2 * 3600 * 1000);
  await utimes(staleDir, past, past);
  await utimes(half, past, past);
  t.equal(await sweepStaleUploads(ta.app), 2);
  t.same((await filesUnder(tmp)).length, 0);
  const { readdir } = await import('node:fs/promises');
  t.same(await readdir(tmp), ['in-flight-request'], 'fresh upload dir kept');
  await (await import('node:fs/promises')).rm(freshDir, { recursive: true });
});
