// The self check-in pages' service worker, scope "/c/" only: the gate app's worker keeps "/".
// It lets an installed or revisited check-in page open without signal; the check-ins themselves
// wait in the page's localStorage queue, never here, so this worker holds nothing that matters.
const CACHE = 'gatelog-self-v1';

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    // A rotated or retired poster answers 404: its old page must not open from the cache again.
    if (response.ok) await cache.put(request, response.clone());
    else await cache.delete(request);
    return response;
  } catch (error) {
    const cached = await cache.match(request, { ignoreSearch: true });
    if (cached) return cached;
    throw error;
  }
}

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) {
    // One version of each asset is enough: drop the ones with another ?v=.
    const path = new URL(request.url).pathname;
    for (const key of await cache.keys()) {
      if (new URL(key.url).pathname === path && key.url !== request.url) await cache.delete(key);
    }
    await cache.put(request, response.clone());
  }
  return response;
}

self.addEventListener('install', () => self.skipWaiting());

self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/c/static/')) event.respondWith(cacheFirst(event.request));
  else if (event.request.mode === 'navigate') event.respondWith(networkFirst(event.request));
});
