// Service worker registration and the "new version — reload" prompt.
import { byId } from './dom.js';

const UPDATE_CHECK_MS = 15 * 60000;

export async function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  // Module worker: it imports the same sync code the page uses, for Background Sync.
  const registration = await navigator.serviceWorker.register('/sw.js', {
    scope: '/',
    type: 'module',
    updateViaCache: 'none',
  });
  let reloading = false;
  const offer = (worker) => {
    const banner = byId('update-banner');
    banner.hidden = false;
    byId('update-reload').onclick = () => {
      reloading = true;
      worker.postMessage('skip-waiting');
    };
  };
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    // Only the guard's tap reloads; the first install also changes the controller.
    if (reloading) window.location.reload();
  });
  if (registration.waiting && navigator.serviceWorker.controller) offer(registration.waiting);
  registration.addEventListener('updatefound', () => {
    const worker = registration.installing;
    worker.addEventListener('statechange', () => {
      if (worker.state === 'installed' && navigator.serviceWorker.controller) offer(worker);
    });
  });
  setInterval(() => registration.update().catch(() => {}), UPDATE_CHECK_MS);
}
