// The playground's offline copy: a service worker that keeps one deployment's files in one cache.
// scripts/build-site.sh writes dist/sw.js as `const BUILD = {version, files};` followed by this file:
// `version` hashes every file of the deployment, `files` lists those cached at installation (the page,
// the three wasm builds, the default model, the test set and the representative images, paths relative
// to the site). The training set is cached when the page first fetches it.
//
// A new deployment installs beside the old one and waits: the old one keeps serving its own files to
// the pages it controls (a page never mixes old JavaScript with a new wasm build), until the page asks
// it to take over (the "new version" button, www/offline.js) or every page of the old one is closed.
//
// Every file it serves carries the two headers that make the page cross-origin isolated (COOP
// same-origin, COEP require-corp), which a static host such as GitHub Pages cannot send: from the
// second visit on, the page it serves can give its training workers shared memory (www/share-link.js).
// Every file the page loads is the site's own, so the headers block nothing. The first visit, or a
// browser without service workers, trains with messages as before.
/* global BUILD */

const CACHE = `ptq-${BUILD.version}`;
const scope = () => self.registration.scope;
// files worth keeping when they are fetched after installation (the training set)
const LATER = /\/data\/[^/]+\.gz$/;

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      // `reload`: from the server, never from the browser's HTTP cache (which may hold the files of an
      // earlier deployment)
      await cache.addAll(BUILD.files.map((f) => new Request(new URL(f, scope()), { cache: 'reload' })));
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith('ptq-') && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('message', (event) => {
  if (event.data === 'take-over') self.skipWaiting();
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET' || !req.url.startsWith(scope())) return;
  event.respondWith(answer(req));
});

async function answer(req) {
  const cache = await caches.open(CACHE);
  // the page itself whatever its query (?lang=fa) or hash
  const key = req.mode === 'navigate' ? new URL('index.html', scope()).href : req.url;
  const hit = await cache.match(key, { ignoreSearch: req.mode === 'navigate' });
  if (hit) return isolated(hit);
  const res = await fetch(req);
  if (res.ok && LATER.test(new URL(req.url).pathname)) await cache.put(req, res.clone());
  return isolated(res);
}

/** `res` with the cross-origin isolation headers (see above); its body, status and other headers as
 * they were. */
function isolated(res) {
  if (res.type === 'opaque' || res.type === 'opaqueredirect' || res.status === 0) return res;
  const headers = new Headers(res.headers);
  headers.set('Cross-Origin-Opener-Policy', 'same-origin');
  headers.set('Cross-Origin-Embedder-Policy', 'require-corp');
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}
