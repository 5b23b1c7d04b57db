/**
 * FILE_STORAGE=s3: any S3-compatible object store (AWS S3, MinIO, Garage, Ceph RGW; tested
 * against s3rver). Objects are `<S3_PREFIX><key>` in S3_BUCKET. Credentials come from the AWS
 * SDK's default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile, or an instance role).
 *
 * Uploads larger than one part (S3_PART_SIZE_MB, default 8) go up as a multipart upload, one part
 * in memory at a time; a failed upload is aborted so no parts linger. Downloads of a byte range
 * ask S3 for exactly that range.
 */
import { createReadStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { S3Config } from '../../config/config.js';
import { fixedChunks } from './chunks.js';
import type { Backend, ByteRange, PutSource } from './storage.js';

export function createS3Store(config: S3Config): S3Store {
  const client = new S3Client({
    region: config.region,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    forcePathStyle: config.forcePathStyle,
    ...(config.credentials ? { credentials: config.credentials } : {}),
    // the SDK's checksum trailers are not understood by every S3-compatible server
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return new S3Store(client, config);
}

const isNotFound = (err: unknown): boolean => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
};

function limitBytes(n: number): Transform {
  let left = n;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (left <= 0) return cb();
      const part = chunk.length > left ? chunk.subarray(0, left) : chunk;
      left -= part.length;
      cb(null, part);
    },
  });
}

export class S3Store implements Backend {
  readonly kind = 's3' as const;

  constructor(
    readonly client: S3Client,
    private readonly config: S3Config,
  ) {}

  private objectKey(key: string): string {
    return `${this.config.prefix}${key}`;
  }

  async write(key: string, source: PutSource, _trx?: unknown): Promise<void> {
    const Bucket = this.config.bucket;
    const Key = this.objectKey(key);
    const stream = 'path' in source ? createReadStream(source.path) : source.stream;
    const parts = fixedChunks(stream, this.config.partSizeBytes);
    const first = await parts.next();
    const second = first.done ? first : await parts.next();
    if (second.done) {
      // one part or less: a plain PUT
      await this.client.send(new PutObjectCommand({ Bucket, Key, Body: first.done ? Buffer.alloc(0) : first.value }));
    } else {
      const { UploadId } = await this.client.send(new CreateMultipartUploadCommand({ Bucket, Key }));
      try {
        const done: { ETag: string | undefined; PartNumber: number }[] = [];
        let n = 1;
        const upload = async (Body: Buffer) => {
          const PartNumber = n++;
          const r = await this.client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body }));
          done.push({ ETag: r.ETag, PartNumber });
        };
        await upload(first.value as Buffer);
        await upload(second.value);
        for await (const part of parts) await upload(part);
        await this.client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: done } }));
      } catch (err) {
        await this.client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })).catch(() => undefined);
        throw err;
      }
    }
    if ('path' in source) await unlink(source.path).catch(() => undefined);
  }

  async size(key: string): Promise<number | undefined> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.config.bucket, Key: this.objectKey(key) }));
      return r.ContentLength ?? 0;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async open(key: string, range?: ByteRange): Promise<Readable> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.config.bucket, Key: this.objectKey(key), ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }));
      const body = r.Body as Readable;
      if (!range) return body;
      // a server that answers a range from elsewhere is refused; one that sends more than asked
      // (s3rver reads "bytes=0-0" as "from 0") is cut to the requested length
      const from = /^bytes (\d+)-/.exec(r.ContentRange ?? '');
      if (!from || Number(from[1]) !== range.start) {
        body.destroy();
        throw new Error(`the object store answered range ${range.start}-${range.end} with ${r.ContentRange ?? 'the whole object'}`);
      }
      return body.pipe(limitBytes(range.end - range.start + 1));
    } catch (err) {
      if (isNotFound(err)) throw Object.assign(new Error('no such object'), { code: 'ENOENT' });
      throw err;
    }
  }

  async remove(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key: this.objectKey(key) }));
  }

  async *keys(after = ''): AsyncIterable<string> {
    // ListObjects (v1) paged by Marker = the last key seen: every S3-compatible store implements it
    // alike (s3rver's v2 continuation tokens need a cipher OpenSSL 3 no longer has)
    const prefix = this.config.prefix;
    let last = after ? prefix + after : undefined;
    for (;;) {
      const r = await this.client.send(new ListObjectsCommand({ Bucket: this.config.bucket, Prefix: prefix, ...(last ? { Marker: last } : {}) }));
      const keys = (r.Contents ?? []).map((o) => o.Key).filter((k): k is string => !!k);
      for (const k of keys) yield k.slice(prefix.length);
      if (!r.IsTruncated || keys.length === 0) return;
      last = keys[keys.length - 1];
    }
  }
}
