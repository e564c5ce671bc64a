// COS signature v5 ("q-sign", cos-api.md §3) and the POST Object policy signature (§6.8), written
// out explicitly so that the test process signs its own requests independently of both the server
// and the browser SDK. test/signer.test.mjs checks them against the published test vectors.

import { createHash, createHmac } from 'node:crypto';

const hmacSha1Hex = (key, msg) => createHmac('sha1', key).update(msg, 'utf8').digest('hex');
const sha1Hex = (msg) => createHash('sha1').update(msg, 'utf8').digest('hex');

/** UTF-8 percent-encoding leaving only A-Z a-z 0-9 - _ . ~ (upper-case hex), as every COS SDK. */
export function cosUrlEncode(s) {
  return encodeURIComponent(String(s)).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** `k=v&k=v` and `k;k` of a name → value map, as §3.2 step 4/5 (keys encoded then lower-cased). */
function canonical(map) {
  const pairs = Object.entries(map).map(([k, v]) => [cosUrlEncode(k).toLowerCase(), cosUrlEncode(v ?? '')]);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { string: pairs.map(([k, v]) => `${k}=${v}`).join('&'), list: pairs.map(([k]) => k).join(';') };
}

/** `<start>;<end>` in Unix seconds. */
export function keyTime(startSeconds = Math.floor(Date.now() / 1000) - 60, lifetimeSeconds = 900) {
  return `${startSeconds};${startSeconds + lifetimeSeconds}`;
}

/**
 * The Authorization header value for a request.
 * @param {object} o
 * @param {string} o.secretId
 * @param {string} o.secretKey
 * @param {string} o.method      HTTP method (any case)
 * @param {string} o.path        the DECODED path, e.g. `/a b.txt`
 * @param {Object<string,string>} [o.query]    query parameters to sign (`{cors: ''}` for `?cors`)
 * @param {Object<string,string>} [o.headers]  headers to sign (names any case), normally host + x-cos-*
 * @param {string} [o.keyTime]   `<start>;<end>`; default now-60 … now+900
 */
export function cosAuthorization({ secretId, secretKey, method, path, query = {}, headers = {}, keyTime: kt }) {
  const time = kt ?? keyTime();
  const signKey = hmacSha1Hex(secretKey, time);
  const q = canonical(query);
  const h = canonical(headers);
  const httpString = `${method.toLowerCase()}\n${path}\n${q.string}\n${h.string}\n`;
  const stringToSign = `sha1\n${time}\n${sha1Hex(httpString)}\n`;
  const signature = hmacSha1Hex(signKey, stringToSign);
  return [
    'q-sign-algorithm=sha1',
    `q-ak=${secretId}`,
    `q-sign-time=${time}`,
    `q-key-time=${time}`,
    `q-header-list=${h.list}`,
    `q-url-param-list=${q.list}`,
    `q-signature=${signature}`,
  ].join('&');
}

/** The q-signature of a POST Object policy: HMAC-SHA1(SignKey, SHA1(policy JSON text)). */
export function policySignature(secretKey, keyTimeValue, policyJson) {
  return hmacSha1Hex(hmacSha1Hex(secretKey, keyTimeValue), sha1Hex(policyJson));
}

/**
 * The form fields of a POST Object upload, in the order a form must send them (signature fields
 * before `file`; the caller appends `file` last).
 * @param {object} o
 * @param {string} o.bucket
 * @param {string} o.key
 * @param {Object<string,string>} [o.extraFields] other form fields (success_action_redirect, x-cos-meta-*, …),
 *        each also made an exact-match policy condition
 * @param {number} [o.lifetimeSeconds]
 * @returns {{fields: Array<[string,string]>, policyJson: string}}
 */
export function postObjectFields({ secretId, secretKey, bucket, key, extraFields = {}, lifetimeSeconds = 900 }) {
  const now = Math.floor(Date.now() / 1000);
  const kt = keyTime(now - 60, lifetimeSeconds + 60);
  const policy = {
    expiration: new Date((now + lifetimeSeconds) * 1000).toISOString(),
    conditions: [
      { 'q-sign-algorithm': 'sha1' },
      { 'q-ak': secretId },
      { 'q-sign-time': kt },
      { bucket },
      { key },
      ...Object.entries(extraFields).map(([k, v]) => ({ [k]: v })),
    ],
  };
  const policyJson = JSON.stringify(policy);
  const fields = [
    ['key', key],
    ...Object.entries(extraFields),
    ['policy', Buffer.from(policyJson, 'utf8').toString('base64')],
    ['q-sign-algorithm', 'sha1'],
    ['q-ak', secretId],
    ['q-key-time', kt],
    ['q-signature', policySignature(secretKey, kt, policyJson)],
  ];
  return { fields, policyJson };
}
