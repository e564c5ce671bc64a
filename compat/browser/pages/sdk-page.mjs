// The scenarios a page runs with the real cos-js-sdk-v5 (window.COS) or plain fetch(), straight
// against cosd at http://<bucket>.cos.localhost:PORT. Each outcome goes into the DOM as JSON
// (<pre id="result-NAME">), which is what the test reads.

import { detBytes } from './shared.mjs';

window.__results = {};
document.getElementById('origin').textContent = location.origin;

const STEP_TIMEOUT_MS = 30000;

function withTimeout(promise, what, ms = STEP_TIMEOUT_MS) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms (page-side timeout)`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function makeCos(cfg, extra = {}) {
  return new window.COS({
    SecretId: cfg.secretId,
    SecretKey: cfg.secretKey,
    Protocol: 'http:',
    Domain: cfg.domain, // '{Bucket}.cos.localhost:PORT'
    AutoSwitchHost: false,
    Timeout: 20000,
    ...extra,
  });
}

/** Calls a cos-js-sdk-v5 method with a callback; resolves with {ok, data} or {ok:false, error}. */
function call(cos, method, params, what) {
  return withTimeout(
    new Promise((resolve) => {
      cos[method](params, (err, data) => (err ? resolve({ ok: false, error: err }) : resolve({ ok: true, data })));
    }),
    what,
  ).catch((e) => ({ ok: false, error: e }));
}

/** A JSON-safe picture of an SDK error (network errors carry no status: a CORS block is one). */
function describeError(err) {
  if (!err) return null;
  const out = { message: err.message ?? String(err) };
  for (const k of ['code', 'statusCode', 'method', 'url']) if (err[k] !== undefined) out[k] = err[k];
  if (err.error !== undefined) out.error = typeof err.error === 'object' ? JSON.parse(JSON.stringify(err.error)) : String(err.error);
  return out;
}

function headerPick(headers) {
  const h = {};
  for (const [k, v] of Object.entries(headers || {})) h[k.toLowerCase()] = v;
  return h;
}

async function sha256Hex(buf) {
  const d = await crypto.subtle.digest('SHA-256', buf);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function summarize(res) {
  if (!res.ok) return { ok: false, error: describeError(res.error) };
  const data = res.data || {};
  const headers = headerPick(data.headers);
  return { ok: true, statusCode: data.statusCode, ETag: data.ETag, headers, visibleHeaders: Object.keys(headers).sort() };
}

const scenarios = {
  // putObject (x-cos-meta-author, custom Content-Type), then getObject and headObject.
  async putGetHead(cfg) {
    const cos = makeCos(cfg);
    const base = { Bucket: cfg.bucket, Region: cfg.region, Key: cfg.key };
    const body = new Blob([detBytes(cfg.size, cfg.seed)]);
    const out = {};
    out.put = summarize(
      await call(cos, 'putObject', { ...base, Body: body, ContentType: cfg.contentType, 'x-cos-meta-author': cfg.author }, 'putObject'),
    );
    const got = await call(cos, 'getObject', { ...base, DataType: 'arraybuffer' }, 'getObject');
    out.get = summarize(got);
    if (got.ok) {
      const buf = got.data.Body;
      out.get.bodyType = Object.prototype.toString.call(buf);
      out.get.bodyLength = buf.byteLength;
      out.get.bodySha256 = await sha256Hex(buf);
    }
    out.head = summarize(await call(cos, 'headObject', base, 'headObject'));
    return out;
  },

  async put(cfg) {
    const cos = makeCos(cfg);
    const body = new Blob([detBytes(cfg.size, cfg.seed)]);
    return {
      put: summarize(
        await call(
          cos,
          'putObject',
          { Bucket: cfg.bucket, Region: cfg.region, Key: cfg.key, Body: body, ContentType: cfg.contentType, 'x-cos-meta-author': cfg.author },
          'putObject',
        ),
      ),
    };
  },

  async get(cfg) {
    const cos = makeCos(cfg);
    const got = await call(cos, 'getObject', { Bucket: cfg.bucket, Region: cfg.region, Key: cfg.key, DataType: 'arraybuffer' }, 'getObject');
    const out = { get: summarize(got) };
    if (got.ok) out.get.bodyLength = got.data.Body.byteLength;
    return out;
  },

  // Temporary credentials the way a web app gets them: getAuthorization asks the page's own
  // origin (its back end, /sts, which asks cosd's admin API) for a key limited to a bucket, a
  // prefix and some actions. Then: put and get inside the scope, put outside the prefix, and
  // headObject (an action the key lacks) inside it.
  async sts(cfg) {
    let authorizations = 0;
    const cos = new window.COS({
      Protocol: 'http:',
      Domain: cfg.domain,
      AutoSwitchHost: false,
      Timeout: 20000,
      getAuthorization: (options, callback) => {
        authorizations += 1;
        fetch('/sts')
          .then((r) => r.json())
          .then((d) =>
            callback({
              TmpSecretId: d.Credentials.TmpSecretId,
              TmpSecretKey: d.Credentials.TmpSecretKey,
              SecurityToken: d.Credentials.Token,
              StartTime: d.StartTime,
              ExpiredTime: d.ExpiredTime,
            }),
          )
          .catch((e) => callback({ error: String(e) }));
      },
    });
    const base = { Bucket: cfg.bucket, Region: cfg.region };
    const body = () => new Blob([detBytes(cfg.size, cfg.seed)]);
    const out = {};
    out.inside = summarize(await call(cos, 'putObject', { ...base, Key: cfg.insideKey, Body: body(), ContentType: 'text/plain' }, 'putObject inside'));
    const got = await call(cos, 'getObject', { ...base, Key: cfg.insideKey, DataType: 'arraybuffer' }, 'getObject inside');
    out.get = summarize(got);
    if (got.ok) out.get.bodyLength = got.data.Body.byteLength;
    out.outside = summarize(await call(cos, 'putObject', { ...base, Key: cfg.outsideKey, Body: body(), ContentType: 'text/plain' }, 'putObject outside'));
    out.head = summarize(await call(cos, 'headObject', { ...base, Key: cfg.insideKey }, 'headObject inside'));
    out.authorizations = authorizations;
    return out;
  },

  async del(cfg) {
    const cos = makeCos(cfg);
    return { del: summarize(await call(cos, 'deleteObject', { Bucket: cfg.bucket, Region: cfg.region, Key: cfg.key }, 'deleteObject')) };
  },

  // Multipart upload of a large Blob (Initiate, Upload Part ×n, Complete), as a browser app does it.
  async sliceUpload(cfg) {
    const cos = makeCos(cfg, { ChunkRetryTimes: 0, ChunkParallelLimit: 3 });
    const body = new Blob([detBytes(cfg.size, cfg.seed)], { type: cfg.contentType });
    const progress = [];
    const res = await withTimeout(
      new Promise((resolve) => {
        cos.sliceUploadFile(
          {
            Bucket: cfg.bucket,
            Region: cfg.region,
            Key: cfg.key,
            Body: body,
            ChunkSize: cfg.chunkSize,
            'x-cos-meta-author': cfg.author,
            onProgress: (p) => progress.push(p.percent),
          },
          (err, data) => (err ? resolve({ ok: false, error: err }) : resolve({ ok: true, data })),
        );
      }),
      'sliceUploadFile',
      90000,
    ).catch((e) => ({ ok: false, error: e }));
    const out = { slice: summarize(res), lastProgress: progress.at(-1) ?? null };
    if (res.ok) out.slice.Location = res.data.Location;
    return out;
  },

  // POST Object through fetch() with a FormData body (signature fields first, file last). A
  // multipart/form-data POST without custom headers is a CORS "simple request": no preflight;
  // reading the response needs Access-Control-Allow-Origin on it.
  async fetchPost(cfg) {
    const fd = new FormData();
    for (const [k, v] of cfg.fields) fd.append(k, v);
    fd.append('file', new Blob([detBytes(cfg.size, cfg.seed)], { type: 'application/octet-stream' }), cfg.fileName);
    try {
      const r = await withTimeout(fetch(cfg.action, { method: 'POST', body: fd }), 'fetch POST');
      const text = await r.text();
      return {
        post: {
          ok: true,
          status: r.status,
          etag: r.headers.get('ETag'),
          location: r.headers.get('Location'),
          visibleHeaders: [...r.headers.keys()].sort(),
          body: text.slice(0, 2000),
        },
      };
    } catch (e) {
      return { post: { ok: false, error: { name: e.name, message: e.message } } };
    }
  },
};

window.startScenario = function startScenario(name, scenario, cfg) {
  const pre = document.createElement('pre');
  pre.id = `result-${name}`;
  pre.dataset.state = 'running';
  document.getElementById('results').append(pre);
  Promise.resolve()
    .then(() => scenarios[scenario](cfg))
    .catch((e) => ({ crashed: { message: String(e && e.message), stack: String(e && e.stack) } }))
    .then((result) => {
      window.__results[name] = result;
      pre.textContent = JSON.stringify(result, null, 2);
      pre.dataset.state = 'done';
    });
};

document.body.dataset.state = typeof window.COS === 'function' ? 'ready' : 'no-sdk';
