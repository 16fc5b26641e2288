// Fetching the site's files: bytes with download progress, and gzip decompression by the browser
// (DecompressionStream runs natively, off the JavaScript thread). The wasm library reads plain IDX
// only (its browser builds leave the gzip decoder out); bytes that are not gzip (a host that already
// decoded them) pass through unchanged.

/** Fetch `url` as bytes; `onProgress(loaded, total)` is called as chunks arrive (total 0 if unknown). */
export async function fetchBytes(url, { onProgress, expected = 0 } = {}) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${new URL(url).pathname}: HTTP ${res.status} ${res.statusText}`);
  if (!onProgress || !res.body) return new Uint8Array(await res.arrayBuffer());
  // Content-Length is the size on the wire; with a transparent Content-Encoding it is not the body's size
  const total = res.headers.get('content-encoding') ? expected : Number(res.headers.get('content-length')) || expected;
  const reader = res.body.getReader();
  const chunks = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    onProgress(loaded, Math.max(total, loaded));
  }
  const out = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Decompress gzip bytes (fetched from `url`) with the browser's DecompressionStream; other bytes are
 * returned as they are. A browser without DecompressionStream gets an error naming the file's path. */
export async function gunzip(bytes, url) {
  const gzip = bytes.length > 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  if (!gzip) return bytes;
  if (typeof DecompressionStream !== 'function') {
    throw new Error(`${new URL(url, location.href).pathname}: this browser cannot decompress gzip (no DecompressionStream)`);
  }
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Fetch a gzip file and return its decompressed bytes. */
export async function fetchGz(url, options) {
  return gunzip(await fetchBytes(url, options), url);
}
