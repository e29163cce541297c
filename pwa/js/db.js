// IndexedDB access for the page and the service worker alike (no DOM here).
const DB_NAME = 'gatelog';
const DB_VERSION = 3;

export const STORES = {
  outbox: 'outbox', // wire events not yet acked, exactly as they will be sent
  journal: 'journal', // what this tablet recorded recently, for "today at this gate"
  attention: 'attention', // events the server rejected, with its reason
  roster: 'roster', // the roster as pulled, one record per page (rosterpages.js)
  last: 'last', // last direction per subject, to propose the next one
  meta: 'meta', // settings and counters: {key, value}
  rollcalls: 'rollcalls', // evacuation roll calls taken here, kept until sent and old
};

let opening = null;

/** The roster kept by an older version, one record per person, becomes the first page. */
function moveRosterToPages(db, tx) {
  const people = tx.objectStore('people').getAll();
  const passes = tx.objectStore('passes').getAll();
  // Requests of one transaction complete in order: when the passes are read, so are the people.
  passes.onsuccess = () => {
    if (people.result.length || passes.result.length) {
      tx.objectStore(STORES.roster).add({ people: people.result, passes: passes.result });
    }
    db.deleteObjectStore('people');
    db.deleteObjectStore('passes');
  };
}

function upgrade(db, tx, oldVersion) {
  // Cumulative steps: a tablet may jump several versions in one upgrade.
  if (oldVersion < 1) {
    // Keyed by seq: the push order, and a whole acked batch leaves with one range delete.
    db.createObjectStore(STORES.outbox, { keyPath: 'seq' });
    db.createObjectStore(STORES.journal, { keyPath: 'id' }).createIndex('occurred_ms', 'occurred_ms');
    db.createObjectStore(STORES.attention, { keyPath: 'id' });
    db.createObjectStore('people', { keyPath: 'id' }).createIndex('badge_token', 'badge_token');
    db.createObjectStore('passes', { keyPath: 'id' }).createIndex('token', 'token');
    db.createObjectStore(STORES.last, { keyPath: 'subject' });
    db.createObjectStore(STORES.meta, { keyPath: 'key' });
  }
  if (oldVersion < 2) {
    db.createObjectStore(STORES.rollcalls, { keyPath: 'id' });
  }
  if (oldVersion < 3) {
    // Kept across the update, with its cursor: an offline tablet still knows everyone.
    db.createObjectStore(STORES.roster, { autoIncrement: true });
    moveRosterToPages(db, tx);
  }
}

export function openDb() {
  if (!opening) {
    const current = new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = (event) => upgrade(request.result, request.transaction, event.oldVersion);
      request.onsuccess = () => {
        const db = request.result;
        // A closed connection is never reused: the next call opens a new one. Another tab (or a
        // new app version) wanting a newer schema closes it so it can upgrade; the browser closes
        // it itself when the site's storage is cleared.
        const forget = () => {
          if (opening === current) opening = null;
        };
        db.onversionchange = () => {
          db.close();
          forget();
        };
        db.onclose = forget;
        resolve(db);
      };
      request.onerror = () => {
        if (opening === current) opening = null;
        reject(request.error);
      };
    });
    opening = current;
  }
  return opening;
}

/**
 * A transaction on a live connection. A connection can close between two calls without its close
 * event having run yet (site data cleared, a forced upgrade): then it is dropped and one new
 * connection is tried, so a closed one never fails every later write.
 */
async function begin(storeNames, mode, durability) {
  for (let attempt = 0; ; attempt += 1) {
    const db = await openDb();
    try {
      return db.transaction(storeNames, mode, { durability });
    } catch (error) {
      if (error.name !== 'InvalidStateError' || attempt > 0) throw error;
      opening = null;
    }
  }
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
  const tx = await begin(storeNames, mode, durability);
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
