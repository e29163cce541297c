// IndexedDB access for the page and the service worker alike (no DOM here).
const DB_NAME = 'gatelog';
const DB_VERSION = 2;

export const STORES = {
  outbox: 'outbox', // wire events not yet acked, exactly as they will be sent
  journal: 'journal', // what this tablet recorded recently, for "today at this gate"
  attention: 'attention', // events the server rejected, with its reason
  people: 'people',
  passes: 'passes',
  last: 'last', // last direction per subject, to propose the next one
  meta: 'meta', // settings and counters: {key, value}
  rollcalls: 'rollcalls', // evacuation roll calls taken here, kept until sent and old
};

let opening = null;

function upgrade(db, oldVersion) {
  // Cumulative steps: a tablet may jump several versions in one upgrade.
  if (oldVersion < 1) {
    // Keyed by seq: the push order, and a whole acked batch leaves with one range delete.
    db.createObjectStore(STORES.outbox, { keyPath: 'seq' });
    db.createObjectStore(STORES.journal, { keyPath: 'id' }).createIndex('occurred_ms', 'occurred_ms');
    db.createObjectStore(STORES.attention, { keyPath: 'id' });
    db.createObjectStore(STORES.people, { keyPath: 'id' }).createIndex('badge_token', 'badge_token');
    db.createObjectStore(STORES.passes, { keyPath: 'id' }).createIndex('token', 'token');
    db.createObjectStore(STORES.last, { keyPath: 'subject' });
    db.createObjectStore(STORES.meta, { keyPath: 'key' });
  }
  if (oldVersion < 2) {
    db.createObjectStore(STORES.rollcalls, { keyPath: 'id' });
  }
}

export function openDb() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = (event) => upgrade(request.result, event.oldVersion);
      request.onsuccess = () => {
        const db = request.result;
        // Another tab (or a new app version) wants a newer schema: step aside so it can upgrade.
        db.onversionchange = () => {
          db.close();
          opening = null;
        };
        resolve(db);
      };
      request.onerror = () => {
        opening = null;
        reject(request.error);
      };
    });
  }
  return opening;
}

export function req(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/**
 * Run fn(tx) in one transaction and resolve with its result only once the transaction has
 * completed, i.e. (with durability 'strict') once the data is on disk.
 */
export async function run(storeNames, mode, fn, { durability = 'default' } = {}) {
  const db = await openDb();
  const tx = db.transaction(storeNames, mode, { durability });
  const done = new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new DOMException('Transaction aborted', 'AbortError'));
  });
  let result;
  try {
    result = await fn(tx);
  } catch (error) {
    try {
      tx.abort();
    } catch {
      // already finished or aborted: the error below is the one worth reporting
    }
    await done.catch(() => {});
    throw error;
  }
  await done;
  return result;
}

export function getMeta(key) {
  return run([STORES.meta], 'readonly', async (tx) => {
    const row = await req(tx.objectStore(STORES.meta).get(key));
    return row ? row.value : undefined;
  });
}

export function setMeta(key, value) {
  return run([STORES.meta], 'readwrite', (tx) => req(tx.objectStore(STORES.meta).put({ key, value })), {
    durability: 'strict',
  });
}
