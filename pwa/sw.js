// The gate app's service worker (a module worker, scope "/").
// It serves only the gate app's own shell and assets; every other request — the consoles
// (/hr, /board, /admin, /auth), the API, the self check-in pages (/c/...) — goes to the network
// untouched. It never touches IndexedDB except to push the outbox on Background Sync, so an
// update can never lose a waiting event.
import { BACKGROUND_SYNC_TAG, CHANNEL, drain } from '/app/js/sync.js';

// Repeats js/version.js on purpose: Chromium installs a new module worker only when the worker's
// own script changes, not when only a module it imports does. A test keeps the two equal.
const APP_VERSION = '1.3.6';
const CACHE_PREFIX = 'gatelog-shell-';
const CACHE_NAME = `${CACHE_PREFIX}${APP_VERSION}`;
const SHELL = '/';
const PRECACHE = [
  SHELL,
  '/manifest.webmanifest',
  '/app/css/app.css',
  '/app/icons/icon.svg',
  '/app/icons/icon-192.png',
  '/app/icons/icon-512.png',
  '/app/icons/icon-maskable-512.png',
  '/app/js/api.js',
  '/app/js/capture.js',
  '/app/js/cccd.js',
  '/app/js/db.js',
  '/app/js/i18n.js',
  '/app/js/main.js',
  '/app/js/normalise.js',
  '/app/js/outbox.js',
  '/app/js/outboxfile.js',
  '/app/js/rollcall.js',
  '/app/js/roster.js',
  '/app/js/rosterpages.js',
  '/app/js/scanner.js',
  '/app/js/scheduler.js',
  '/app/js/search.js',
  '/app/js/sync.js',
  '/app/js/tablet.js',
  '/app/js/time.js',
  '/app/js/version.js',
  '/app/js/ui/capture.js',
  '/app/js/ui/dom.js',
  '/app/js/ui/enrol.js',
  '/app/js/ui/feedback.js',
  '/app/js/ui/gate-picker.js',
  '/app/js/ui/lists.js',
  '/app/js/ui/menu.js',
  '/app/js/ui/replace.js',
  '/app/js/ui/rollcall.js',
  '/app/js/ui/status.js',
  '/app/js/ui/update.js',
  '/app/vendor/jsQR.js',
];
const PRECACHED = new Set(PRECACHE);

async function precache() {
  const cache = await caches.open(CACHE_NAME);
  // 'reload' skips the HTTP cache, so a new version never precaches an old file.
  await cache.addAll(PRECACHE.map((url) => new Request(url, { cache: 'reload' })));
}

async function removeOldCaches() {
  const names = await caches.keys();
  await Promise.all(
    names.filter((name) => name.startsWith(CACHE_PREFIX) && name !== CACHE_NAME).map((name) => caches.delete(name)),
  );
}

async function cacheFirst(request) {
  const cache = await caches.open(CACHE_NAME);
  return (await cache.match(request, { ignoreSearch: true })) || fetch(request);
}

async function serveShell() {
  const cache = await caches.open(CACHE_NAME);
  return (await cache.match(SHELL)) || fetch(SHELL);
}

async function backgroundPush() {
  await drain();
  new BroadcastChannel(CHANNEL).postMessage('changed');
}

self.addEventListener('install', (event) => event.waitUntil(precache()));

self.addEventListener('activate', (event) => event.waitUntil(removeOldCaches().then(() => self.clients.claim())));

// The page asks for this only when the guard taps "reload" on the new-version banner.
self.addEventListener('message', (event) => {
  if (event.data === 'skip-waiting') self.skipWaiting();
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname === SHELL && event.request.mode === 'navigate') event.respondWith(serveShell());
  else if (PRECACHED.has(url.pathname)) event.respondWith(cacheFirst(event.request));
});

self.addEventListener('sync', (event) => {
  if (event.tag === BACKGROUND_SYNC_TAG) event.waitUntil(backgroundPush());
});
