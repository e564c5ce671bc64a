// Headless Debian Chromium driven by playwright-core, and a per-test page that records what the
// browser itself saw on the network (through the DevTools protocol): every request to cosd
// including CORS preflights, the answers, and the reason of each failed load (corsErrorStatus).
// That record is used for diagnostics, and to tell a CORS block from any other failure.

import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

// As known to work on this kind of machine; the background-networking flags keep Chromium from
// calling out (the network is closed but for the package registries). playwright's launch()
// adds --headless and a new, empty --user-data-dir of its own (removed again by close()).
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-proxy-server',
];

export async function launchChromium() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: run compat/browser/setup.sh (or set CHROMIUM_BIN)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: 30000 });
}

/** A fresh context (own cookies, cache and CORS preflight cache) and page, with a network log. */
export async function openPage(browser) {
  const context = await browser.newContext();
  context.setDefaultTimeout(30000);
  context.setDefaultNavigationTimeout(30000);
  const page = await context.newPage();
  const console_ = [];
  page.on('console', (m) => console_.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => console_.push(`[pageerror] ${e.message}`));

  const net = new Map(); // requestId → entry
  const cdp = await context.newCDPSession(page);
  cdp.on('Network.requestWillBeSent', (e) => {
    const prev = net.get(e.requestId);
    // A redirect reuses the request id: keep the earlier hop as its own entry.
    if (prev && e.redirectResponse) {
      prev.status = e.redirectResponse.status;
      prev.responseHeaders = e.redirectResponse.headers;
      net.set(`${e.requestId}#${prev.hop}`, prev);
    }
    net.set(e.requestId, {
      hop: (prev?.hop ?? 0) + 1,
      type: e.type,
      method: e.request.method,
      url: e.request.url,
      requestHeaders: e.request.headers,
      postDataLength: e.request.hasPostData ? (e.request.postData?.length ?? 'yes') : 0,
    });
  });
  cdp.on('Network.requestWillBeSentExtraInfo', (e) => {
    const entry = net.get(e.requestId);
    if (entry) entry.requestHeaders = { ...entry.requestHeaders, ...e.headers };
  });
  cdp.on('Network.responseReceived', (e) => {
    const entry = net.get(e.requestId);
    if (!entry) return;
    entry.status = e.response.status;
    entry.responseHeaders = e.response.headers;
  });
  cdp.on('Network.responseReceivedExtraInfo', (e) => {
    const entry = net.get(e.requestId);
    if (!entry) return;
    entry.status ??= e.statusCode;
    entry.responseHeaders = { ...(entry.responseHeaders || {}), ...e.headers };
  });
  cdp.on('Network.loadingFailed', (e) => {
    const entry = net.get(e.requestId);
    if (!entry) return;
    entry.failed = e.errorText;
    if (e.corsErrorStatus) entry.cors = e.corsErrorStatus;
    if (e.blockedReason) entry.blocked = e.blockedReason;
  });
  await cdp.send('Network.enable');

  return {
    context,
    page,
    /** network entries (in order) whose URL starts with `prefix` */
    requests(prefix = '') {
      return [...net.values()].filter((e) => e.url.startsWith(prefix));
    },
    console: console_,
    describe(prefix = '') {
      return describeNet(this.requests(prefix));
    },
    close: () => context.close(),
  };
}

const INTERESTING = /^(origin|host|access-control-.*|authorization|content-type|content-length|etag|location|x-cos-.*|vary)$/i;

export function describeNet(entries) {
  const pick = (h) =>
    Object.entries(h || {})
      .filter(([k]) => INTERESTING.test(k))
      .map(([k, v]) => `${k}: ${String(v).length > 160 ? String(v).slice(0, 160) + '…' : v}`)
      .join(' | ');
  return entries
    .map((e) => {
      let s = `${e.type ?? ''} ${e.method} ${e.url}\n    sent: ${pick(e.requestHeaders)}`;
      if (e.status !== undefined) s += `\n    got ${e.status}: ${pick(e.responseHeaders)}`;
      if (e.failed) s += `\n    FAILED: ${e.failed}${e.cors ? ' cors=' + JSON.stringify(e.cors) : ''}${e.blocked ? ' blocked=' + e.blocked : ''}`;
      return s;
    })
    .join('\n');
}
