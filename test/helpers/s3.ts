/**
 * A real S3-protocol server for tests: s3rver (from test/tools, installed by `npm ci --prefix
 * test/tools`; .ci/run does it), on 127.0.0.1:0 over a temporary directory, with one bucket.
 * Returns the environment that points SmartSupport at it (FILE_STORAGE=s3, path-style).
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { T } from './harness.js';

export interface TestS3 {
  endpoint: string;
  bucket: string;
  env: Record<string, string>;
}

export async function startS3(t: T, opts: { bucket?: string; prefix?: string } = {}): Promise<TestS3> {
  const require = createRequire(new URL('../tools/package.json', import.meta.url));
  let S3rver: new (o: object) => { run(): Promise<{ port: number }>; close(): Promise<void>; store: FsStore };
  try {
    S3rver = require('s3rver');
  } catch {
    throw new Error('s3rver is not installed: run `npm ci --prefix test/tools` (the S3 tests need a real S3-protocol server)');
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ss-s3-'));
  const bucket = opts.bucket ?? 'smartsupport-test';
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: bucket }] });
  readAfterWrite(server.store);
  const { port } = await server.run();
  t.teardown(async () => {
    await server.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    env: {
      FILE_STORAGE: 's3',
      S3_BUCKET: bucket,
      S3_ENDPOINT: endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      S3_REGION: 'us-east-1',
      ...(opts.prefix ? { S3_PREFIX: opts.prefix } : {}),
      // s3rver's fixed credentials
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
    },
  };
}

/** The part of s3rver's FilesystemStore (3.7) that readAfterWrite wraps. */
interface FsStore {
  putObject(object: { bucket: string; key: string }): Promise<{ size: number; md5: string }>;
  getResourcePath(bucket: string, key: string, resource: string): string;
}

/**
 * S3 reads its own writes: a GET after a PUT's 200 returns the whole object. s3rver 3.7's
 * filesystem store answers a PUT when it has consumed the request body, not when its write stream
 * has finished, so a GET right after (a migration's verifying read-back) could read a short file
 * when the machine is busy. Here a PUT is answered once the file holds every byte, as S3 would.
 */
function readAfterWrite(store: FsStore): void {
  const putObject = store.putObject.bind(store);
  store.putObject = async (object) => {
    const result = await putObject(object);
    const file = store.getResourcePath(object.bucket, object.key, 'object');
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 2))) {
      if ((await stat(file).catch(() => undefined))?.size === result.size) return result;
    }
    throw new Error(`s3rver: ${object.key} not fully written after 10 s`);
  };
}
