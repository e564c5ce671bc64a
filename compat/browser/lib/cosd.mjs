// The cosd server under test (the real release binary) and a COS-signed HTTP client for the test
// process itself: creating buckets, putting CORS rules, and checking afterwards what really got
// stored, independently of what the browser reports.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cosAuthorization, cosUrlEncode } from './cos-sign.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, '..', '..', '..');

export const APPID = '1250000000';
export const REGION = 'ap-guangzhou';
// Test credentials handed to the server through its environment (COSD_SECRET_ID / COSD_SECRET_KEY).
export const SECRET_ID = 'AKIDcosdBrowserTest000000000000000001';
export const SECRET_KEY = 'cosdBrowserTestSecretKey00000000000001';
/** The virtual-host domain cosd serves by default, which Chromium resolves to loopback itself. */
export const DOMAIN = 'cos.localhost';

export const md5Hex = (buf) => createHash('md5').update(buf).digest('hex');
export const sha256Hex = (buf) => createHash('sha256').update(buf).digest('hex');

export function cosdBinary() {
  return process.env.COSD_BIN || path.join(REPO_ROOT, 'target', 'release', 'cosd');
}

export function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// eslint-disable-next-line no-control-regex
const stripAnsi = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function canConnect(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

export class Cosd {
  /** @param {{dataDir: string, logPath: string}} o */
  constructor({ dataDir, logPath }) {
    this.binary = cosdBinary();
    this.dataDir = dataDir;
    this.logPath = logPath;
    this.proc = null;
    this.port = null;
    this.exit = null;
  }

  async start(timeoutMs = 20000) {
    if (!existsSync(this.binary)) {
      throw new Error(`cosd binary not found at ${this.binary} (cargo build --release, or set COSD_BIN)`);
    }
    mkdirSync(this.dataDir, { recursive: true });
    let lastError;
    // A port picked by freePort() may be taken before cosd binds it: retry when the log says so.
    for (let attempt = 0; attempt < 3; attempt++) {
      this.port = await freePort();
      try {
        await this.#spawnAndWait(timeoutMs);
        return this;
      } catch (e) {
        lastError = e;
        if (!/in use/i.test(String(e.message))) throw e;
      }
    }
    throw lastError;
  }

  async #spawnAndWait(timeoutMs) {
    // The admin API: a page's back end (the test origin) gets temporary keys from it.
    // COSD_TEST_SERVE_ARGS (whitespace-split) reruns the suite against another backend.
    const extra = (process.env.COSD_TEST_SERVE_ARGS || '').split(/\s+/).filter(Boolean);
    const args = ['serve', '--listen', `127.0.0.1:${this.port}`, '--data-dir', this.dataDir, '--region', REGION, '--admin-api', ...extra];
    const fd = openSync(this.logPath, 'a');
    this.exit = null;
    this.proc = spawn(this.binary, args, {
      stdio: ['ignore', fd, fd],
      env: {
        ...process.env,
        COSD_SECRET_ID: SECRET_ID,
        COSD_SECRET_KEY: SECRET_KEY,
        COSD_APPID: APPID,
        RUST_LOG: process.env.RUST_LOG || 'info',
        RUST_BACKTRACE: '1',
        NO_COLOR: '1',
      },
    });
    closeSync(fd);
    const proc = this.proc;
    proc.once('exit', (code, signal) => {
      this.exit = { code, signal };
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.exit) {
        throw new Error(`cosd exited (${JSON.stringify(this.exit)}) before accepting connections on port ${this.port}\n` +
          `--- cosd log (${this.logPath}) ---\n${this.logTail(80)}`);
      }
      if (await canConnect(this.port)) return;
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`cosd did not accept connections on 127.0.0.1:${this.port} within ${timeoutMs} ms\n` +
          `--- cosd log ---\n${this.logTail(80)}`);
      }
      await sleep(50);
    }
  }

  alive() {
    return this.proc !== null && this.exit === null;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 10000) {
    const proc = this.proc;
    if (!proc || this.exit) return this.exit;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(t);
    return this.exit;
  }

  logSize() {
    try {
      return statSync(this.logPath).size;
    } catch {
      return 0;
    }
  }

  logSince(offset, maxBytes = 12000) {
    try {
      let text = stripAnsi(readFileSync(this.logPath).subarray(offset).toString('utf8'));
      if (text.length > maxBytes) text = '[... earlier lines cut ...]\n' + text.slice(-maxBytes);
      return text;
    } catch {
      return '';
    }
  }

  logTail(lines = 60) {
    try {
      return stripAnsi(readFileSync(this.logPath, 'utf8')).split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** `<bucket>.cos.localhost:PORT`: the host the browser pages use, and the one the test signs. */
  bucketHost(bucket) {
    return `${bucket}.${DOMAIN}:${this.port}`;
  }

  bucketOrigin(bucket) {
    return `http://${this.bucketHost(bucket)}`;
  }

  /**
   * A COS-signed request on a bucket (virtual host `<bucket>.cos.localhost:PORT`, connecting to
   * 127.0.0.1:PORT since Node does not resolve *.localhost names by itself).
   * @returns {Promise<{status:number, headers:Object<string,string>, body:Buffer}>}
   */
  request(method, bucket, key = '', { query = {}, headers = {}, body = null, sign = true, timeoutMs = 30000 } = {}) {
    const host = this.bucketHost(bucket);
    const wirePath = '/' + key.split('/').map(cosUrlEncode).join('/');
    const qs = Object.entries(query).map(([k, v]) => (v === '' ? cosUrlEncode(k) : `${cosUrlEncode(k)}=${cosUrlEncode(v)}`)).join('&');
    const hdrs = { Host: host, ...headers };
    if (body !== null) hdrs['Content-Length'] = String(body.length);
    if (sign) {
      const signed = Object.fromEntries(Object.entries(hdrs).filter(([k]) => /^(host|content-md5|content-type|x-cos-.*)$/i.test(k)));
      hdrs.Authorization = cosAuthorization({ secretId: SECRET_ID, secretKey: SECRET_KEY, method, path: '/' + key, query, headers: signed });
    }
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: this.port, method, path: wirePath + (qs ? '?' + qs : ''), headers: hdrs, agent: false },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${host}/${key}: no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body ?? undefined);
    });
  }

  /**
   * POST /-/admin/temporary-credentials (path style on 127.0.0.1:PORT), signed by the root key, as
   * an application's back end asks for a temporary key to hand to its page.
   * @param {{Bucket?: string, Prefix?: string, Actions?: string[], DurationSeconds?: number}} request
   * @returns {Promise<{status:number, json:object|null, body:string}>}
   */
  temporaryCredentials(request) {
    const p = '/-/admin/temporary-credentials';
    const body = Buffer.from(JSON.stringify(request));
    const host = `127.0.0.1:${this.port}`;
    const headers = { Host: host, 'Content-Type': 'application/json', 'Content-Length': String(body.length) };
    headers.Authorization = cosAuthorization({ secretId: SECRET_ID, secretKey: SECRET_KEY, method: 'POST', path: p, headers: { host, 'content-type': 'application/json' } });
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: this.port, method: 'POST', path: p, headers, agent: false }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json = null;
          try {
            json = JSON.parse(text);
          } catch {
            // Not JSON: an error document, shown by the caller.
          }
          resolve({ status: res.statusCode, json, body: text });
        });
        res.on('error', reject);
      });
      req.setTimeout(30000, () => req.destroy(new Error('temporary-credentials: no answer within 30000 ms')));
      req.on('error', reject);
      req.end(body);
    });
  }

  async createBucket(bucket) {
    const r = await this.request('PUT', bucket, '', { body: Buffer.alloc(0) });
    if (r.status !== 200) throw new Error(`PUT Bucket ${bucket}: ${r.status} ${r.body.toString()}`);
  }

  /** PUT /?cors with the given XML, as cos-nodejs-sdk-v5 sends it (Content-MD5, application/xml). */
  putBucketCors(bucket, xml) {
    const body = Buffer.from(xml, 'utf8');
    return this.request('PUT', bucket, '', {
      query: { cors: '' },
      headers: { 'Content-Type': 'application/xml', 'Content-MD5': createHash('md5').update(body).digest('base64') },
      body,
    });
  }
}

export function uniqueBucket(prefix) {
  return `${prefix}${Math.random().toString(16).slice(2, 10)}-${APPID}`;
}

/** The COS XML for one CORS rule set. */
export function corsXml(rules) {
  const el = (name, values) => (values ?? []).map((v) => `<${name}>${v}</${name}>`).join('');
  return (
    '<CORSConfiguration>' +
    rules
      .map(
        (r) =>
          '<CORSRule>' +
          el('ID', r.id ? [r.id] : []) +
          el('AllowedOrigin', r.origins) +
          el('AllowedMethod', r.methods) +
          el('AllowedHeader', r.headers) +
          el('ExposeHeader', r.expose) +
          el('MaxAgeSeconds', r.maxAge !== undefined ? [r.maxAge] : []) +
          '</CORSRule>',
      )
      .join('') +
    '</CORSConfiguration>'
  );
}
