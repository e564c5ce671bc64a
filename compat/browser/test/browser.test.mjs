// cosd in a real browser: pages on other origins upload to and read from cosd directly with the
// real cos-js-sdk-v5 (and a plain HTML form, and fetch()), exactly when the bucket's CORS rules
// allow it, and are blocked by the browser otherwise. The browser is the judge: outcomes are read
// from the pages (their DOM), what got stored is checked with signed requests from this process,
// and cosd's log is only shown to explain a failure.
//
// Origins (all on loopback):
//   A  http://127.0.0.1:<pa>   allowed by the bucket's CORS rules
//   C  http://127.0.0.1:<pc>   not allowed (same host, another port: another origin)
//   cosd http://<bucket>.cos.localhost:<port>   (Chromium resolves *.localhost to loopback itself)
//
// Run: compat/browser/setup.sh && (cd compat/browser && COSD_BIN=… node --test test/)

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchChromium, openPage } from '../lib/browser.mjs';
import { postObjectFields } from '../lib/cos-sign.mjs';
import { Cosd, corsXml, DOMAIN, md5Hex, REGION, SECRET_ID, SECRET_KEY, sha256Hex, uniqueBucket } from '../lib/cosd.mjs';
import { StaticOrigin } from '../lib/static-server.mjs';
import { detBytes } from '../pages/shared.mjs';

const TEST_TIMEOUT_MS = 120000;
const WAIT_MS = 30000;

/** Response headers a page may read without them being exposed (Fetch's CORS-safelisted set). */
const SAFELISTED = new Set(['cache-control', 'content-language', 'content-length', 'content-type', 'expires', 'last-modified', 'pragma']);
const EXPOSED = ['ETag', 'x-cos-meta-author'];

const env = {};

before(
  async () => {
    env.tmp = mkdtempSync(path.join(os.tmpdir(), 'cosd-browser-'));
    env.cosd = new Cosd({ dataDir: path.join(env.tmp, 'data'), logPath: path.join(env.tmp, 'cosd.log') });
    await env.cosd.start();
    // Origin A's back end hands its page temporary keys from cosd's admin API, limited to the
    // CORS bucket, the prefix sts-scope/ and putting and getting objects.
    env.stsScope = { Prefix: 'sts-scope/', Actions: ['name/cos:PutObject', 'name/cos:GetObject'], DurationSeconds: 900 };
    env.A = await new StaticOrigin('A', {
      sts: async () => {
        const r = await env.cosd.temporaryCredentials({ Bucket: env.bucket, ...env.stsScope });
        if (r.status !== 200 || !r.json) throw new Error(`admin API: ${r.status} ${r.body}`);
        return r.json;
      },
    }).start();
    env.C = await new StaticOrigin('C').start();
    env.browser = await launchChromium();

    // The bucket the pages use: origin A may PUT/GET/POST/HEAD (not DELETE); the only rule that
    // grants DELETE is for an origin no page has. Origin C appears in no rule.
    env.bucket = uniqueBucket('cors');
    await env.cosd.createBucket(env.bucket);
    env.corsXml = corsXml([
      {
        id: 'page-a',
        origins: [env.A.origin],
        methods: ['PUT', 'GET', 'POST', 'HEAD'],
        headers: ['*'],
        expose: EXPOSED,
        maxAge: 600,
      },
      { id: 'elsewhere', origins: ['http://app.example'], methods: ['PUT', 'GET', 'POST', 'DELETE', 'HEAD'], headers: ['*'], expose: ['ETag'], maxAge: 600 },
    ]);
    env.corsPut = await env.cosd.putBucketCors(env.bucket, env.corsXml);

    // A bucket with no CORS configuration at all.
    env.bareBucket = uniqueBucket('nocors');
    await env.cosd.createBucket(env.bareBucket);
  },
  { timeout: 90000 },
);

after(async () => {
  await env.browser?.close().catch(() => {});
  await env.A?.stop();
  await env.C?.stop();
  const crashed = env.cosd && env.cosd.proc && !env.cosd.alive();
  const exit = await env.cosd?.stop();
  if (crashed) {
    console.error(`cosd died during the run (${JSON.stringify(exit)}):\n${env.cosd.logTail(80)}`);
    process.exitCode = 1;
  }
  if (env.tmp) {
    if (process.env.COSD_KEEP_TMP) console.error(`kept ${env.tmp}`);
    else rmSync(env.tmp, { recursive: true, force: true });
  }
});

// ------------------------------------------------------------------------------------------ helpers

const quotedMd5 = (buf) => `"${md5Hex(buf)}"`;

/** Named checks that all run, then fail together with every mismatch listed. */
class Checks {
  constructor() {
    this.failures = [];
  }
  eq(name, actual, expected) {
    try {
      assert.deepStrictEqual(actual, expected);
    } catch {
      this.failures.push(`${name}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
    }
  }
  ok(name, cond, detail = '') {
    if (!cond) this.failures.push(`${name}${detail ? ': ' + detail : ''}`);
  }
  done(context = '') {
    if (this.failures.length) {
      throw new assert.AssertionError({ message: `${this.failures.length} check(s) failed:\n  - ${this.failures.join('\n  - ')}${context ? '\n' + context : ''}` });
    }
  }
}

/**
 * Runs `body(session)` on a fresh page; on failure (or always, with COSD_BROWSER_VERBOSE=1) prints
 * what the browser saw on the network, the page's console, and cosd's log lines written meanwhile;
 * always closes the page.
 */
async function withPage(t, body) {
  const session = await openPage(env.browser);
  const mark = env.cosd.logSize();
  const dump = () => {
    const lines = [
      '--- network, as the browser saw it (requests to cosd and the test origins; preflights are type Other/Preflight OPTIONS) ---',
      session.describe('http://') || '(nothing)',
      '--- page console ---',
      session.console.join('\n') || '(nothing)',
      '--- cosd log during this test ---',
      env.cosd.logSince(mark) || '(nothing)',
    ];
    for (const l of lines.join('\n').split('\n')) t.diagnostic(l);
  };
  try {
    const out = await body(session);
    if (process.env.COSD_BROWSER_VERBOSE) dump();
    return out;
  } catch (e) {
    dump();
    throw e;
  } finally {
    await session.close().catch(() => {});
  }
}

function cfgFor(bucket, extra) {
  return {
    bucket,
    region: REGION,
    domain: `{Bucket}.${DOMAIN}:${env.cosd.port}`,
    secretId: SECRET_ID,
    secretKey: SECRET_KEY,
    ...extra,
  };
}

/** Loads pages/sdk.html from `origin`, runs one scenario, returns its outcome as the page wrote it. */
async function runScenario(session, origin, scenario, cfg, timeoutMs = WAIT_MS * 2) {
  const { page } = session;
  await page.goto(origin.url('/pages/sdk.html'));
  await page.waitForFunction(() => document.body.dataset.state !== 'loading', null, { timeout: WAIT_MS });
  assert.equal(await page.evaluate(() => document.body.dataset.state), 'ready', 'cos-js-sdk-v5 did not load in the page (window.COS missing)');
  const name = scenario + Math.random().toString(16).slice(2, 8);
  await page.evaluate(([n, s, c]) => window.startScenario(n, s, c), [name, scenario, cfg]);
  await page.waitForSelector(`#result-${name}[data-state="done"]`, { state: 'attached', timeout: timeoutMs });
  const result = JSON.parse(await page.textContent(`#result-${name}`));
  if (result.crashed) throw new Error(`scenario ${scenario} crashed in the page: ${result.crashed.stack}`);
  return result;
}

/** Requests the page made to cosd's bucket host with `method`, as recorded by the browser. */
function cosRequests(session, bucket, method) {
  return session.requests(env.cosd.bucketOrigin(bucket)).filter((e) => e.method === method);
}

/** Checks that the browser blocked every `method` request to the bucket for CORS reasons. */
function checkCorsBlocked(c, session, bucket, method) {
  const reqs = cosRequests(session, bucket, method).filter((e) => e.type !== 'Preflight');
  c.ok(`the page attempted ${method} on cosd`, reqs.length > 0, 'no such request in the browser log');
  for (const r of reqs) {
    c.ok(`${method} ${r.url} failed in the browser with a CORS error`, r.failed && r.cors, `failed=${r.failed} cors=${JSON.stringify(r.cors)} status=${r.status}`);
  }
}

async function signedObject(bucket, key) {
  const r = await env.cosd.request('GET', bucket, key);
  return { status: r.status, headers: r.headers, body: r.body };
}

/** What cosd stored under `key` (signed GET from the test): status 200 and then each expectation. */
async function checkStored(c, bucket, key, { bytes, headers = {} }) {
  const stored = await signedObject(bucket, key);
  c.eq(`stored object ${key}: signed GET status`, stored.status, 200);
  if (stored.status !== 200) return;
  c.eq(`stored object ${key}: size`, stored.body.length, bytes.length);
  c.eq(`stored object ${key}: MD5`, md5Hex(stored.body), md5Hex(bytes));
  for (const [name, value] of Object.entries(headers)) c.eq(`stored object ${key}: ${name}`, stored.headers[name], value);
}

// -------------------------------------------------------------------------------------------- tests

test('setup: PUT Bucket cors (COS XML, signed by the test) is accepted', { timeout: TEST_TIMEOUT_MS }, () => {
  assert.equal(env.corsPut.status, 200, `PUT /?cors answered ${env.corsPut.status}: ${env.corsPut.body.toString().slice(0, 800)}\nbody sent: ${env.corsXml}`);
});

test(
  'A (allowed origin): cos-js-sdk-v5 putObject with x-cos-meta-author and a custom Content-Type, then getObject and headObject read back the bytes and the exposed ETag and x-cos-meta-author',
  { timeout: TEST_TIMEOUT_MS },
  async (t) => {
    const key = 'page-a/hello 1.bin';
    const size = 256 * 1024 + 17;
    const seed = 1;
    const bytes = Buffer.from(detBytes(size, seed));
    const contentType = 'application/x-cosd-browser-test';
    await withPage(t, async (s) => {
      const r = await runScenario(s, env.A, 'putGetHead', cfgFor(env.bucket, { key, size, seed, contentType, author: 'page-a' }));
      const c = new Checks();
      c.ok('putObject succeeded in the page', r.put.ok, JSON.stringify(r.put.error));
      c.eq('putObject: ETag visible to the page', r.put.ETag, quotedMd5(bytes));
      c.ok('getObject succeeded in the page', r.get.ok, JSON.stringify(r.get.error));
      c.eq('getObject: body length', r.get.bodyLength, size);
      c.eq('getObject: body SHA-256', r.get.bodySha256, sha256Hex(bytes));
      c.eq('getObject: ETag visible to the page', r.get.ETag, quotedMd5(bytes));
      c.eq('getObject: x-cos-meta-author visible to the page', r.get.headers?.['x-cos-meta-author'], 'page-a');
      c.eq('getObject: Content-Type', r.get.headers?.['content-type'], contentType);
      c.ok('headObject succeeded in the page', r.head.ok, JSON.stringify(r.head.error));
      c.eq('headObject: ETag visible to the page', r.head.headers?.etag, quotedMd5(bytes));
      c.eq('headObject: x-cos-meta-author visible to the page', r.head.headers?.['x-cos-meta-author'], 'page-a');
      // Only the rule's ExposeHeaders (and the safelisted ones) reach the page, not the rest of
      // cosd's headers (x-cos-request-id, x-cos-hash-crc64ecma, …).
      const allowed = new Set([...SAFELISTED, ...EXPOSED.map((h) => h.toLowerCase())]);
      for (const step of ['get', 'head']) {
        const extra = (r[step].visibleHeaders ?? []).filter((h) => !allowed.has(h));
        c.eq(`${step}Object: headers visible beyond the safelisted and exposed ones`, extra, []);
      }
      // What cosd really stored, read with a signed GET from the test process.
      await checkStored(c, env.bucket, key, { bytes, headers: { 'content-type': contentType, 'x-cos-meta-author': 'page-a' } });
      // The browser really did a CORS preflight for the PUT (custom headers) and cosd answered it.
      const preflights = cosRequests(s, env.bucket, 'OPTIONS');
      c.ok('the browser sent a preflight OPTIONS to cosd', preflights.length > 0, 'none in the browser log');
      c.done(`page outcome: ${JSON.stringify(r)}`);
    });
  },
);

test('A (allowed origin): DELETE is granted only to another origin, so deleteObject is blocked and the object survives', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const key = 'page-a/keep-me.txt';
  const put = await env.cosd.request('PUT', env.bucket, key, { body: Buffer.from('still here') });
  assert.equal(put.status, 200, `signed PUT from the test: ${put.status} ${put.body}`);
  await withPage(t, async (s) => {
    const r = await runScenario(s, env.A, 'del', cfgFor(env.bucket, { key }));
    const c = new Checks();
    c.eq('deleteObject failed in the page', r.del.ok, false);
    checkCorsBlocked(c, s, env.bucket, 'DELETE');
    const head = await env.cosd.request('HEAD', env.bucket, key);
    c.eq('signed HEAD after the blocked delete: object still there', head.status, 200);
    c.done(`page outcome: ${JSON.stringify(r)}`);
  });
});

/** Loads pages/form.html from `origin`, fills in the signed fields and the file, clicks Upload. */
async function submitForm(s, origin, bucket, fields, file) {
  const { page } = s;
  await page.goto(origin.url('/pages/form.html'));
  await page.evaluate(
    ([action, fields]) => {
      const form = document.getElementById('upload');
      form.action = action;
      const box = document.getElementById('fields');
      for (const [name, value] of fields) {
        const input = document.createElement('input');
        input.type = 'hidden';
        input.name = name;
        input.value = value;
        box.append(input);
      }
    },
    [env.cosd.bucketOrigin(bucket) + '/', fields],
  );
  await page.setInputFiles('#file', file);
  const formUrl = page.url();
  // A timeout here is not thrown: the checks that follow say where the page ended up instead.
  await Promise.all([
    page.waitForURL((u) => u.href !== formUrl, { timeout: WAIT_MS, waitUntil: 'load' }).catch(() => {}),
    page.click('#submit'),
  ]);
}

test('B (allowed origin page): HTML form POST Object with success_action_redirect lands on the page\'s origin with bucket, key and etag; the object is stored', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const key = 'form/redirected.bin';
  const bytes = Buffer.from(detBytes(100 * 1024 + 3, 2));
  const landing = env.A.url('/landing');
  const { fields } = postObjectFields({
    secretId: SECRET_ID,
    secretKey: SECRET_KEY,
    bucket: env.bucket,
    key,
    extraFields: { 'Content-Type': 'application/x-cosd-form', 'x-cos-meta-author': 'form-b', success_action_redirect: landing },
  });
  await withPage(t, async (s) => {
    await submitForm(s, env.A, env.bucket, fields, { name: 'upload.bin', mimeType: 'application/octet-stream', buffer: bytes });
    const c = new Checks();
    const url = s.page.url();
    c.ok('the browser followed the redirect to success_action_redirect', url.startsWith(landing + '?'), `page is at ${url}: ${(await s.page.innerText('body')).slice(0, 600)}`);
    if (url.startsWith(landing)) {
      await s.page.waitForSelector('body[data-state="done"]', { timeout: WAIT_MS });
      const shown = await s.page.evaluate(() => Object.fromEntries(['bucket', 'key', 'etag'].map((n) => [n, document.getElementById(n).textContent])));
      c.eq('landing page: bucket', shown.bucket, env.bucket);
      c.eq('landing page: key', shown.key, key);
      c.eq('landing page: etag', shown.etag, quotedMd5(bytes));
      c.eq('landing request reached the static server once', env.A.landings.filter((l) => l.query.key === key).length, 1);
    }
    await checkStored(c, env.bucket, key, { bytes, headers: { 'content-type': 'application/x-cosd-form', 'x-cos-meta-author': 'form-b' } });
    c.done();
  });
});

test('B (allowed origin page): HTML form POST Object with success_action_status=201', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const key = 'form/status-201.txt';
  const bytes = Buffer.from('uploaded by a plain HTML form\n'.repeat(100));
  const { fields } = postObjectFields({ secretId: SECRET_ID, secretKey: SECRET_KEY, bucket: env.bucket, key, extraFields: { success_action_status: '201' } });
  await withPage(t, async (s) => {
    await submitForm(s, env.A, env.bucket, fields, { name: 'note.txt', mimeType: 'text/plain', buffer: bytes });
    const c = new Checks();
    const posts = cosRequests(s, env.bucket, 'POST').filter((e) => e.type === 'Document');
    c.eq('the form POST went to cosd once', posts.length, 1);
    c.eq('cosd answered the form POST with 201', posts[0]?.status, 201);
    await checkStored(c, env.bucket, key, { bytes });
    c.done(`page shows: ${(await s.page.innerText('body').catch(() => '')).slice(0, 600)}`);
  });
});

test('A (allowed origin): POST Object through fetch() + FormData: the page reads the status and the exposed ETag', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const key = 'fetch/post-a.bin';
  const size = 64 * 1024;
  const seed = 3;
  const bytes = Buffer.from(detBytes(size, seed));
  const { fields } = postObjectFields({ secretId: SECRET_ID, secretKey: SECRET_KEY, bucket: env.bucket, key, extraFields: { 'x-cos-meta-author': 'fetch-a' } });
  await withPage(t, async (s) => {
    const r = await runScenario(s, env.A, 'fetchPost', { action: env.cosd.bucketOrigin(env.bucket) + '/', fields, size, seed, fileName: 'a.bin' });
    const c = new Checks();
    c.ok('fetch() resolved (the response carried CORS headers for origin A)', r.post.ok, JSON.stringify(r.post.error));
    c.eq('status (default success_action_status)', r.post.status, 204);
    c.eq('ETag visible to the page', r.post.etag, quotedMd5(bytes));
    await checkStored(c, env.bucket, key, { bytes, headers: { 'x-cos-meta-author': 'fetch-a' } });
    c.done(`page outcome: ${JSON.stringify(r)}`);
  });
});

test('C (origin not allowed): putObject is blocked by the browser (CORS error) and nothing is written', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const key = 'page-c/should-not-exist.bin';
  await withPage(t, async (s) => {
    const r = await runScenario(s, env.C, 'put', cfgFor(env.bucket, { key, size: 4096, seed: 4, contentType: 'application/x-cosd-browser-test', author: 'page-c' }));
    const c = new Checks();
    c.eq('putObject failed in the page', r.put.ok, false);
    c.ok('the failure is a network-level one (no HTTP status visible to the page)', !r.put.error?.statusCode, JSON.stringify(r.put.error));
    checkCorsBlocked(c, s, env.bucket, 'PUT');
    const head = await env.cosd.request('HEAD', env.bucket, key);
    c.eq('signed HEAD: nothing was written', head.status, 404);
    c.done(`page outcome: ${JSON.stringify(r)}`);
  });
});

test('C (origin not allowed): getObject of an existing object is blocked; the page never sees the bytes', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const key = 'page-c/secret.txt';
  const put = await env.cosd.request('PUT', env.bucket, key, { body: Buffer.from('not for origin C') });
  assert.equal(put.status, 200, `signed PUT from the test: ${put.status} ${put.body}`);
  await withPage(t, async (s) => {
    const r = await runScenario(s, env.C, 'get', cfgFor(env.bucket, { key }));
    const c = new Checks();
    c.eq('getObject failed in the page', r.get.ok, false);
    c.eq('no body reached the page', r.get.bodyLength, undefined);
    checkCorsBlocked(c, s, env.bucket, 'GET');
    c.done(`page outcome: ${JSON.stringify(r)}`);
  });
});

test('C (origin not allowed): fetch() POST Object, a simple request sent without preflight: the page cannot read the answer, and cosd does not refuse the upload for CORS reasons (cos-api §1.6)', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const key = 'fetch/post-c.bin';
  const size = 8 * 1024;
  const seed = 5;
  const bytes = Buffer.from(detBytes(size, seed));
  const { fields } = postObjectFields({ secretId: SECRET_ID, secretKey: SECRET_KEY, bucket: env.bucket, key });
  await withPage(t, async (s) => {
    const r = await runScenario(s, env.C, 'fetchPost', { action: env.cosd.bucketOrigin(env.bucket) + '/', fields, size, seed, fileName: 'c.bin' });
    const c = new Checks();
    c.eq('fetch() rejected in the page', r.post.ok, false);
    checkCorsBlocked(c, s, env.bucket, 'POST');
    c.eq('no preflight for a simple request', cosRequests(s, env.bucket, 'OPTIONS').length, 0);
    // CORS rules decide which answers a page may read, not who may write (cos-api §1.6).
    await checkStored(c, env.bucket, key, { bytes });
    c.done(`page outcome: ${JSON.stringify(r)}`);
  });
});

test('no CORS configuration: origin A\'s putObject to a bucket without rules is blocked and nothing is written', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const key = 'bare/should-not-exist.bin';
  await withPage(t, async (s) => {
    const r = await runScenario(s, env.A, 'put', cfgFor(env.bareBucket, { key, size: 4096, seed: 6, contentType: 'text/plain', author: 'page-a' }));
    const c = new Checks();
    c.eq('putObject failed in the page', r.put.ok, false);
    checkCorsBlocked(c, s, env.bareBucket, 'PUT');
    const head = await env.cosd.request('HEAD', env.bareBucket, key);
    c.eq('signed HEAD: nothing was written', head.status, 404);
    c.done(`page outcome: ${JSON.stringify(r)}`);
  });
});

/** The ETag of a multipart object: MD5 of the parts' binary MD5s, then -<part count>. */
function multipartEtag(bytes, partSize) {
  const md5s = [];
  for (let i = 0; i < bytes.length; i += partSize) md5s.push(createHash('md5').update(bytes.subarray(i, i + partSize)).digest());
  return `"${createHash('md5').update(Buffer.concat(md5s)).digest('hex')}-${md5s.length}"`;
}

test('A (allowed origin): sliceUploadFile of a 12 MiB Blob (multipart upload through CORS, part ETags read from exposed headers)', { timeout: TEST_TIMEOUT_MS * 2 }, async (t) => {
  const key = 'page-a/big.bin';
  const size = 12 * 1024 * 1024 + 1234;
  const chunkSize = 4 * 1024 * 1024;
  const seed = 7;
  const bytes = Buffer.from(detBytes(size, seed));
  await withPage(t, async (s) => {
    const r = await runScenario(s, env.A, 'sliceUpload', cfgFor(env.bucket, { key, size, seed, chunkSize, contentType: 'application/x-cosd-big', author: 'slice-a' }), 120000);
    const c = new Checks();
    c.ok('sliceUploadFile succeeded in the page', r.slice.ok, JSON.stringify(r.slice.error));
    c.eq('sliceUploadFile: multipart ETag', r.slice.ok ? r.slice.ETag ?? r.slice.headers?.etag : undefined, multipartEtag(bytes, chunkSize));
    await checkStored(c, env.bucket, key, { bytes, headers: { 'x-cos-meta-author': 'slice-a' } });
    c.done(`page outcome: ${JSON.stringify(r)}`);
  });
});

test('A (allowed origin): cos-js-sdk-v5 with getAuthorization gets a temporary key from its back end (cosd\'s admin API), uploads and reads inside the key\'s scope, and is refused outside it', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const insideKey = `${env.stsScope.Prefix}from-page.txt`;
  const outsideKey = 'outside-scope/from-page.txt';
  const size = 1000;
  const seed = 8;
  const bytes = Buffer.from(detBytes(size, seed));
  const before = env.A.stsRequests.length;
  await withPage(t, async (s) => {
    const r = await runScenario(s, env.A, 'sts', cfgFor(env.bucket, { insideKey, outsideKey, size, seed }));
    const c = new Checks();
    c.ok('getAuthorization was called', r.authorizations >= 1, `called ${r.authorizations} times`);
    c.ok('the back end was asked for credentials', env.A.stsRequests.length > before);
    c.ok('putObject inside the scope succeeded', r.inside.ok, JSON.stringify(r.inside.error));
    c.eq('putObject inside the scope: ETag', r.inside.ETag, quotedMd5(bytes));
    c.ok('getObject inside the scope succeeded', r.get.ok, JSON.stringify(r.get.error));
    c.eq('getObject inside the scope: body length', r.get.bodyLength, size);
    c.eq('putObject outside the prefix refused: status', r.outside.ok ? 200 : r.outside.error?.statusCode, 403);
    c.eq('putObject outside the prefix refused: code', r.outside.error?.code, 'AccessDenied');
    c.eq('headObject (not among the key\'s actions) refused: status', r.head.ok ? 200 : r.head.error?.statusCode, 403);
    await checkStored(c, env.bucket, insideKey, { bytes });
    const outside = await env.cosd.request('HEAD', env.bucket, outsideKey);
    c.eq('signed HEAD: nothing was written outside the scope', outside.status, 404);
    // The SDK sent the token with its requests (so the refusals above are the scope's).
    const puts = cosRequests(s, env.bucket, 'PUT').filter((e) => e.type !== 'Preflight');
    c.ok('the page sent its PUTs to cosd', puts.length >= 2, `${puts.length} PUTs`);
    const withToken = (e) => Object.keys(e.requestHeaders ?? {}).some((h) => h.toLowerCase() === 'x-cos-security-token');
    c.ok('every PUT carried x-cos-security-token', puts.every(withToken), JSON.stringify(puts.map((e) => Object.keys(e.requestHeaders ?? {}))));
    c.done(`page outcome: ${JSON.stringify(r)}`);
  });
});
