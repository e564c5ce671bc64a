// The web origins the test pages come from: a small static HTTP server on its own loopback port.
// Two of them run at once, so that one can be allowed by the bucket's CORS rules and the other
// not (an origin is scheme + host + port: same host, different port is a different origin).
//
//   /pages/<file>          compat/browser/pages/<file>
//   /sdk/cos-js-sdk-v5.js  the SDK's browser bundle from node_modules (the real package)
//   /landing?...           the success_action_redirect target of the form upload: recorded (method,
//                          query) and answered with pages/landing.html
//   /sts?...               the origin's "back end" for cos-js-sdk-v5's getAuthorization: answered by
//                          the `sts` function given to the constructor (query → JSON), if any

import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BROWSER_DIR = path.resolve(HERE, '..');
const PAGES_DIR = path.join(BROWSER_DIR, 'pages');
const SDK_FILE = path.join(BROWSER_DIR, 'node_modules', 'cos-js-sdk-v5', 'dist', 'cos-js-sdk-v5.js');

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8' };

export class StaticOrigin {
  /** @param {string} name @param {{sts?: (query: Object<string,string>) => Promise<object>}} [o] */
  constructor(name, { sts } = {}) {
    this.name = name;
    this.sts = sts;
    /** every /sts request's query */
    this.stsRequests = [];
    this.server = null;
    this.port = null;
    /** every /landing request: {method, url, query: {…}} */
    this.landings = [];
  }

  get origin() {
    return `http://127.0.0.1:${this.port}`;
  }

  url(p) {
    return this.origin + p;
  }

  async start() {
    this.server = http.createServer((req, res) => {
      this.#handle(req, res).catch((e) => {
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(String(e && e.stack));
      });
    });
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    this.port = this.server.address().port;
    return this;
  }

  async #handle(req, res) {
    const u = new URL(req.url, this.origin);
    const send = async (file) => {
      const body = await readFile(file);
      res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-store' });
      res.end(body);
    };
    if (u.pathname === '/sdk/cos-js-sdk-v5.js') return send(SDK_FILE);
    if (u.pathname === '/landing') {
      this.landings.push({ method: req.method, url: req.url, query: Object.fromEntries(u.searchParams) });
      return send(path.join(PAGES_DIR, 'landing.html'));
    }
    if (u.pathname === '/sts' && this.sts) {
      const query = Object.fromEntries(u.searchParams);
      this.stsRequests.push(query);
      const answer = await this.sts(query);
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      return res.end(JSON.stringify(answer));
    }
    if (u.pathname.startsWith('/pages/')) {
      const file = path.resolve(PAGES_DIR, '.' + u.pathname.slice('/pages'.length));
      if (file.startsWith(PAGES_DIR + path.sep)) {
        try {
          return await send(file);
        } catch (e) {
          if (e.code !== 'ENOENT') throw e;
        }
      }
    }
    if (u.pathname === '/favicon.ico') {
      res.writeHead(204);
      return res.end();
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found');
  }

  async stop() {
    if (!this.server) return;
    this.server.closeAllConnections?.();
    await new Promise((r) => this.server.close(r));
    this.server = null;
  }
}
