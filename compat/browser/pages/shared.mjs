// Shared by the pages (browser) and the test (Node): the deterministic payloads, so that the test
// can compute independently what the browser should have uploaded.

/** `n` pseudo-random bytes (xorshift32 from `seed`): incompressible, every byte value occurs. */
export function detBytes(n, seed) {
  const out = new Uint8Array(n);
  let x = (seed >>> 0) || 0x9e3779b9;
  for (let i = 0; i < n; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
    if (i + 1 < n) out[i + 1] = (x >>> 8) & 0xff;
    if (i + 2 < n) out[i + 2] = (x >>> 16) & 0xff;
    if (i + 3 < n) out[i + 3] = (x >>> 24) & 0xff;
  }
  return out;
}
