// cos-nodejs-sdk-v5 against cosd: one scenario, driven by compat/test_client_matrix.py.
//
//   node scenario.mjs CONFIG.json
//
// CONFIG: { port, bucket, region, secretId, secretKey, smallFile, bigFile, chunkSize, downloadDir,
//           origin }. The SDK addresses the bucket as a virtual host under cos.localhost
// (`Domain: '{Bucket}.cos.localhost:PORT'`, resolved to loopback by libnss-myhostname).
//
// Each step calls the SDK and records what the SDK returned (status, ETag, headers, the MD5 of
// bodies) in the JSON document printed on stdout; the Python test compares it with values it
// computes itself. The scenario stops at the first SDK error and reports it as
// { failed: { step, statusCode, code, message } } (exit status 0: the test judges). Every request
// has a timeout, and the whole run has a deadline.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const COS = require('cos-nodejs-sdk-v5');

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const md5 = (buf) => createHash('md5').update(buf).digest('hex');

const deadline = setTimeout(() => {
  process.stdout.write(JSON.stringify({ failed: { step: 'deadline', message: 'scenario took more than 150 s' } }));
  process.exit(3);
}, 150_000);

const cos = new COS({
  SecretId: cfg.secretId,
  SecretKey: cfg.secretKey,
  Protocol: 'http:',
  Domain: `{Bucket}.cos.localhost:${cfg.port}`,
  Timeout: 60_000,
  ChunkRetryTimes: 0, // a failing part is a failure, not a retry
  ChunkParallelLimit: 3,
  ChunkSize: cfg.chunkSize,
  SliceSize: cfg.chunkSize, // uploadFile switches to sliceUploadFile above this size
  CopyChunkSize: cfg.chunkSize,
  CopySliceSize: cfg.chunkSize, // sliceCopyFile uses Upload Part - Copy above this size
  AutoSwitchHost: false, // never retry against another domain
  CorrectClockSkew: false,
});

const B = { Bucket: cfg.bucket, Region: cfg.region };

function call(method, params) {
  return new Promise((resolve, reject) => {
    cos[method]({ ...B, ...params }, (err, data) => (err ? reject(err) : resolve(data)));
  });
}

const pick = (headers, names) => Object.fromEntries(names.map((n) => [n, headers?.[n]]));
const out = { steps: {} };
let current = '';

async function step(name, fn) {
  current = name;
  out.steps[name] = await fn();
}

try {
  const small = readFileSync(cfg.smallFile);
  const big = readFileSync(cfg.bigFile);

  await step('putBucket', async () => {
    const r = await call('putBucket', {});
    return { statusCode: r.statusCode };
  });

  await step('putObject', async () => {
    const r = await call('putObject', {
      Key: 'node/small.txt',
      Body: small,
      ContentType: 'text/x-node',
      CacheControl: 'max-age=60',
      ContentDisposition: 'attachment; filename="small.txt"',
      Headers: { 'x-cos-meta-author': 'node-sdk' },
    });
    return { statusCode: r.statusCode, ETag: r.ETag, crc64: r.headers['x-cos-hash-crc64ecma'] };
  });

  await step('headObject', async () => {
    const r = await call('headObject', { Key: 'node/small.txt' });
    return {
      statusCode: r.statusCode,
      headers: pick(r.headers, ['etag', 'content-length', 'content-type', 'cache-control',
        'content-disposition', 'x-cos-meta-author', 'x-cos-hash-crc64ecma']),
    };
  });

  await step('getObject', async () => {
    const r = await call('getObject', { Key: 'node/small.txt' });
    return { statusCode: r.statusCode, ETag: r.ETag, md5: md5(r.Body), length: r.Body.length,
      contentType: r.headers['content-type'] };
  });

  await step('getObjectRange', async () => {
    const r = await call('getObject', { Key: 'node/small.txt', Headers: { Range: 'bytes=2-5' } });
    return { statusCode: r.statusCode, body: r.Body.toString('latin1'),
      contentRange: r.headers['content-range'] };
  });

  await step('uploadFile', async () => {
    // Above SliceSize, uploadFile is a sliceUploadFile: initiate, parts in parallel, complete.
    const r = await call('uploadFile', { Key: 'node/big.bin', FilePath: cfg.bigFile,
      Headers: { 'x-cos-meta-kind': 'sliced' } });
    return { statusCode: r.statusCode, ETag: r.ETag };
  });

  await step('sliceUploadFile', async () => {
    const r = await call('sliceUploadFile', { Key: 'node/slice.bin', FilePath: cfg.bigFile,
      ContentType: 'application/x-slice' });
    return { statusCode: r.statusCode, ETag: r.ETag };
  });

  await step('headBig', async () => {
    const r = await call('headObject', { Key: 'node/big.bin' });
    return { statusCode: r.statusCode,
      headers: pick(r.headers, ['etag', 'content-length', 'x-cos-meta-kind', 'x-cos-hash-crc64ecma']) };
  });

  await step('getObjectToFile', async () => {
    const dest = path.join(cfg.downloadDir, 'big-get.bin');
    const r = await call('getObject', { Key: 'node/big.bin', Output: dest });
    return { statusCode: r.statusCode, ETag: r.ETag, file: dest };
  });

  await step('downloadFile', async () => {
    // Ranged, concurrent download (ChunkSize per range) into a file.
    const dest = path.join(cfg.downloadDir, 'slice-download.bin');
    const r = await call('downloadFile', { Key: 'node/slice.bin', FilePath: dest, ChunkSize: cfg.chunkSize,
      ParallelLimit: 3 });
    return { statusCode: r.statusCode, ETag: r.ETag, file: dest };
  });

  await step('putObjectCopy', async () => {
    const r = await call('putObjectCopy', {
      Key: 'node/copy.txt',
      CopySource: `${cfg.bucket}.cos.${cfg.region}.myqcloud.com/node/small.txt`,
    });
    return { statusCode: r.statusCode, ETag: r.ETag };
  });

  await step('sliceCopyFile', async () => {
    // Above CopySliceSize: a multipart upload of Upload Part - Copy parts.
    const r = await call('sliceCopyFile', {
      Key: 'node/big-copy.bin',
      CopySource: `${cfg.bucket}.cos.${cfg.region}.myqcloud.com/node/big.bin`,
    });
    return { statusCode: r.statusCode, ETag: r.ETag };
  });

  await step('getCopies', async () => {
    const a = await call('getObject', { Key: 'node/copy.txt' });
    const b = await call('getObject', { Key: 'node/big-copy.bin' });
    return { small: { md5: md5(a.Body), author: a.headers['x-cos-meta-author'] },
      big: { md5: md5(b.Body), length: b.Body.length, crc64: b.headers['x-cos-hash-crc64ecma'] } };
  });

  await step('getBucket', async () => {
    const r = await call('getBucket', { Prefix: 'node/', MaxKeys: 2 });
    const r2 = await call('getBucket', { Prefix: 'node/', Marker: r.NextMarker });
    return { first: r.Contents.map((c) => c.Key), truncated: r.IsTruncated,
      rest: r2.Contents.map((c) => ({ Key: c.Key, Size: c.Size, ETag: c.ETag })) };
  });

  await step('cors', async () => {
    await call('putBucketCors', { CORSRules: [{ AllowedOrigin: [cfg.origin], AllowedMethod: ['GET', 'PUT'],
      AllowedHeader: ['*'], ExposeHeader: ['ETag', 'x-cos-meta-author'], MaxAgeSeconds: '600' }] });
    const r = await call('getBucketCors', {});
    return { rules: r.CORSRules };
  });

  await step('deleteObject', async () => {
    const r = await call('deleteObject', { Key: 'node/copy.txt' });
    return { statusCode: r.statusCode };
  });

  await step('headMissing', async () => {
    try {
      await call('headObject', { Key: 'node/copy.txt' });
      return { statusCode: 200 };
    } catch (e) {
      return { statusCode: e.statusCode };
    }
  });

  await step('deleteMultipleObject', async () => {
    const r = await call('deleteMultipleObject', { Objects: [{ Key: 'node/small.txt' }, { Key: 'node/big.bin' },
      { Key: 'node/slice.bin' }, { Key: 'node/big-copy.bin' }] });
    return { deleted: r.Deleted.map((d) => d.Key).sort(), errors: r.Error };
  });

  await step('deleteBucket', async () => {
    const r = await call('deleteBucket', {});
    return { statusCode: r.statusCode };
  });
} catch (e) {
  out.failed = { step: current, statusCode: e?.statusCode, code: e?.code ?? e?.error?.Code,
    message: String(e?.message ?? e?.error?.Message ?? e) };
}
clearTimeout(deadline);
process.stdout.write(JSON.stringify(out));
