// A small static file server for dist/ (no dependencies):
// `node scripts/serve.mjs DIR [PORT] [HOST] [--isolated]`.
// Correct MIME types (application/wasm for streaming compilation), no caching, GET and HEAD only, and
// nothing outside DIR. Prints the URL once it listens; stops on SIGINT/SIGTERM. --isolated sends the
// headers that make the page cross-origin isolated (COOP same-origin, COEP require-corp), as a host
// may: the training workers then share memory instead of exchanging messages (www/share-link.js).
// Without it the page is served as any static host serves it, which is the default.
import { createServer } from 'node:http';
import { createReadStream, promises as fs } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';

const isolated = process.argv.includes('--isolated');
const positional = process.argv.slice(2).filter((a) => a !== '--isolated');
const root = resolve(positional[0] ?? 'dist');
const port = Number(positional[1] ?? 8080);
const host = positional[2] ?? '127.0.0.1';
const isolation = isolated
  ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' }
  : {};
const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
  '.gz': 'application/gzip',
  '.tflite': 'application/octet-stream',
  '.txt': 'text/plain; charset=utf-8',
};

const server = createServer(async (req, res) => {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  let path;
  try {
    path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  } catch {
    res.writeHead(400).end();
    return;
  }
  let file = resolve(join(root, path));
  if (file !== root && !file.startsWith(root + sep)) {
    res.writeHead(403).end();
    return;
  }
  try {
    let st = await fs.stat(file);
    if (st.isDirectory()) {
      file = join(file, 'index.html');
      st = await fs.stat(file);
    }
    res.writeHead(200, {
      'content-type': types[extname(file)] ?? 'application/octet-stream',
      'content-length': st.size,
      'cache-control': 'no-cache',
      ...isolation,
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  } catch {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
  }
});

server.listen(port, host, () => {
  const { port: bound } = server.address();
  console.log(`serving ${root} at http://${host}:${bound}/${isolated ? ' (cross-origin isolated)' : ''}`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
