/** `smartsupport attachments download ID [-o PATH] [--force]` — stream an attachment to a file. */
import type { Command } from 'commander';
import { defineVerb } from '../command.js';
import type { Factory } from '../factory.js';

/** The server's RFC 6266 name (filename* preferred), reduced to a safe local base name. */
export function fileNameFromDisposition(header: string | null, fallback: string): string {
  let name: string | undefined;
  const star = /filename\*=UTF-8''([^;]+)/i.exec(header ?? '');
  if (star) {
    try {
      name = decodeURIComponent(star[1]);
    } catch {
      name = undefined;
    }
  }
  name ??= /filename="([^"]*)"/i.exec(header ?? '')?.[1];
  const safe = (name ?? '').split(/[\\/]/).pop()!.replace(/[\u0000-\u001F\u007F]/g, '').replace(/^\.+/, '').trim();
  return safe || fallback;
}

interface SaveOptions {
  output?: string;
  force?: boolean;
}

/** Stream `path` from the API to `-o` (or stdout with `-`, or the server's name here), never overwriting without --force. */
async function download(f: Factory, apiPath: string, opts: SaveOptions, fallbackName: string): Promise<void> {
  const [{ createWriteStream }, { rename, unlink, stat }, { Readable }, { pipeline }, path, { CliError }] = await Promise.all([
    import('node:fs'),
    import('node:fs/promises'),
    import('node:stream'),
    import('node:stream/promises'),
    import('node:path'),
    import('../errors.js'),
  ]);
  const res = await f.client().request<Response>('GET', apiPath, { raw: true });
  const body = res.data.body;
  if (!body) throw new CliError('the server sent no file');
  if (opts.output === '-') {
    await pipeline(Readable.fromWeb(body as never), f.io.stdout);
    return;
  }
  const target = path.resolve(opts.output ?? fileNameFromDisposition(res.headers.get('content-disposition'), fallbackName));
  if (!opts.force && (await stat(target).catch(() => undefined))) {
    await body.cancel().catch(() => undefined);
    throw new CliError(`${target} exists; use --force to overwrite`);
  }
  const tmp = `${target}.part-${process.pid}`;
  try {
    await pipeline(Readable.fromWeb(body as never), createWriteStream(tmp, { flags: 'wx' }));
    await rename(tmp, target);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  f.err(`saved ${target}`);
}

export function register(noun: Command, factory: () => Factory): void {
  defineVerb(noun, 'download', 'downloadAttachment', 'download an attachment to a file (refuses to overwrite without --force)')
    .argument('<id>', 'attachment id')
    .option('-o, --output <path>', 'file to write ("-" for stdout); default: the attachment\'s name in the current directory')
    .option('--force', 'overwrite an existing file')
    .action(async (id: string, opts: SaveOptions) => {
      if (!/^\d+$/.test(id)) throw (await import('../errors.js')).usageError('the attachment id is a number');
      await download(factory(), `/api/attachments/${id}/download/`, opts, `attachment-${id}`);
    });

  defineVerb(noun, 'media', 'getMedia', 'download a stored file by its media path, e.g. employee_images/3f2a….webp')
    .argument('<path>', 'media path (as in an `image` field or a /media/ URL)')
    .option('-o, --output <path>', 'file to write ("-" for stdout); default: its name in the current directory')
    .option('--force', 'overwrite an existing file')
    .action(async (mediaPath: string, opts: SaveOptions) => {
      const key = mediaPath.replace(/^.*?\/media\//, '').split('?')[0];
      const parts = key.split('/');
      if (parts.length !== 2 || parts.some((p) => !p || p === '.' || p === '..')) throw (await import('../errors.js')).usageError('a media path looks like employee_images/<name> or ticket_attachments/<name>');
      await download(factory(), `/media/${parts.map(encodeURIComponent).join('/')}`, opts, parts[1]);
    });
}
