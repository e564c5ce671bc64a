// The test process's own COS signer against the published vectors (cos-api.md §3.3, §6.8), so that a
// signed request the browser test makes can be trusted when it fails.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { cosAuthorization, cosUrlEncode, policySignature } from '../lib/cos-sign.mjs';

const SECRET_ID = 'AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q';
const SECRET_KEY = 'BQYIM75p8x0iWVFSIgqEKwFprpRSVHlz';
const HOST = 'examplebucket-1250000000.cos.ap-beijing.myqcloud.com';

test('signer: PUT vector (decoded path, seven signed headers)', () => {
  const auth = cosAuthorization({
    secretId: SECRET_ID,
    secretKey: SECRET_KEY,
    method: 'PUT',
    path: '/exampleobject(腾讯云)',
    headers: {
      Date: 'Thu, 16 May 2019 06:45:51 GMT',
      'Content-Type': 'text/plain',
      'Content-Length': '13',
      'Content-MD5': 'mQ/fVh815F3k6TAUm8m0eg==',
      'x-cos-acl': 'private',
      'x-cos-grant-read': 'uin="100000000011"',
      Host: HOST,
    },
    keyTime: '1557989151;1557996351',
  });
  assert.equal(
    auth,
    'q-sign-algorithm=sha1&q-ak=AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q&q-sign-time=1557989151;1557996351' +
      '&q-key-time=1557989151;1557996351' +
      '&q-header-list=content-length;content-md5;content-type;date;host;x-cos-acl;x-cos-grant-read' +
      '&q-url-param-list=&q-signature=3b8851a11a569213c17ba8fa7dcf2abec6935172',
  );
});

test('signer: GET vector (query parameters)', () => {
  const auth = cosAuthorization({
    secretId: SECRET_ID,
    secretKey: SECRET_KEY,
    method: 'GET',
    path: '/exampleobject(腾讯云)',
    query: { 'response-content-type': 'application/octet-stream', 'response-cache-control': 'max-age=600' },
    headers: { Date: 'Thu, 16 May 2019 06:55:53 GMT', Host: HOST },
    keyTime: '1557989753;1557996953',
  });
  assert.match(auth, /&q-header-list=date;host&q-url-param-list=response-cache-control;response-content-type&/);
  assert.match(auth, /&q-signature=01681b8c9d798a678e43b685a9f1bba0f6c0e012$/);
});

test('signer: POST Object policy vector (the policy text of the POST Object page, §6.8)', () => {
  const policy = [
    '{',
    '    "expiration": "2019-08-30T09:38:12.414Z",',
    '    "conditions": [',
    '        { "acl": "default" },',
    '        { "bucket": "examplebucket-1250000000" },',
    '        [ "starts-with", "$key", "folder/subfolder/" ],',
    '        [ "starts-with", "$Content-Type", "image/" ],',
    '        [ "starts-with", "$success_action_redirect", "https://my.website/" ],',
    '        [ "eq", "$x-cos-server-side-encryption", "AES256" ],',
    '        { "q-sign-algorithm": "sha1" },',
    '        { "q-ak": "AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q" },',
    '        { "q-sign-time": "1567150692;1567157892" }',
    '    ]',
    '}',
  ].join('\n');
  assert.equal(createHash('sha1').update(policy).digest('hex'), 'd5d903b8360468bc81c1311f134989bc8c8b5b89'); // StringToSign
  assert.equal(createHmac('sha1', SECRET_KEY).update('1567150692;1567157892').digest('hex'), '39acc8c9f34ba5b19bce4e965b370cd3f62d2fba'); // SignKey
  assert.equal(policySignature(SECRET_KEY, '1567150692;1567157892', policy), '7758dc9a832e9d301dca704cacbf9d9f8172fdef');
});

test('signer: URL encoding leaves only unreserved characters', () => {
  assert.equal(cosUrlEncode("a b/c;d!'()*~._-é"), 'a%20b%2Fc%3Bd%21%27%28%29%2A~._-%C3%A9');
});
