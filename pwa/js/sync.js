// One push cycle and one roster pull, shared by the page and the service worker.
// Every push runs under one exclusive Web Lock, and reads the outbox only once it holds it, so
// two tabs (or a tab and Background Sync) can never send the same events at the same time.
import * as api from './api.js';
import { STORES, getMeta, req, run, setMeta } from './db.js';
import * as outbox from './outbox.js';
import { isoWithOffset } from './time.js';
import { APP_VERSION } from './version.js';

export const PUSH_LOCK = 'gatelog-push';
// Tabs and the service worker tell each other about changes on this channel.
export const CHANNEL = 'gatelog';
export const BACKGROUND_SYNC_TAG = 'gatelog-push';
const ROSTER_LOCK = 'gatelog-roster';
const MAX_BATCH = 500;
const ROSTER_PAGE = 5000;

export function getDevice() {
  return getMeta('device');
}

async function recordLink(ok, error) {
  const link = { ok, at: Date.now(), code: error ? error.code || 'network' : null };
  if (ok) link.lastSyncAt = link.at;
  else link.lastSyncAt = ((await getMeta('link')) || {}).lastSyncAt || null;
  await setMeta('link', link);
}

async function pushAll(device) {
  let size = MAX_BATCH;
  const totals = { accepted: 0, duplicate: 0, rejected: 0 };
  for (let first = true; ; first = false) {
    const { batch, next, total } = await outbox.peek(size);
    // An empty outbox still sends one empty push: the heartbeat that reports the backlog.
    if (batch.length === 0 && !first) break;
    const body = {
      batch_id: crypto.randomUUID(),
      sent_at: isoWithOffset(),
      app_version: APP_VERSION,
      backlog: total - batch.length,
      oldest_pending_at: next ? next.occurred_at : null,
      events: batch,
    };
    let answer;
    try {
      answer = await api.push(device.token, body);
    } catch (error) {
      if (error instanceof api.ApiError && error.status === 413 && batch.length > 1) {
        size = Math.max(1, Math.floor(batch.length / 2));
        continue;
      }
      throw error;
    }
    const counts = await outbox.applyAcks(batch, answer.acks || []);
    for (const key of Object.keys(totals)) totals[key] += counts[key];
    if (answer.seq_reset || (answer.missing_ranges || []).length) {
      await setMeta('server_seq', { seqReset: !!answer.seq_reset, missing: answer.missing_ranges, at: Date.now() });
    }
    if (batch.length === 0) break;
  }
  return totals;
}

/** Push everything waiting (or a heartbeat). Throws api.NetworkError/ApiError when it cannot. */
export function drain() {
  return navigator.locks.request(PUSH_LOCK, async () => {
    const device = await getDevice();
    if (!device) return null;
    try {
      const totals = await pushAll(device);
      await recordLink(true);
      return totals;
    } catch (error) {
      await recordLink(false, error);
      throw error;
    }
  });
}

/** Pull roster changes since the stored cursor; resolves with the changed people and passes and the ID-card choice. */
export function pullRoster() {
  return navigator.locks.request(ROSTER_LOCK, async () => {
    const device = await getDevice();
    if (!device) return { people: [], passes: [] };
    const changed = { people: [], passes: [], idCardFields: undefined };
    const fetchPage = (cursor) => api.pullRoster(device.token, cursor, ROSTER_PAGE);
    let next = fetchPage((await getMeta('roster_cursor')) || 0);
    while (next) {
      const page = await next;
      // Ask for the next page while this one is written: the server and the disk work together.
      next = page.has_more ? fetchPage(page.next_cursor) : null;
      next?.catch(() => {});
      const idCardFields = Array.isArray(page.id_card_fields) ? page.id_card_fields : null;
      // Deactivated people and revoked passes are kept (inactive) so a scan can warn about them.
      await run([STORES.people, STORES.passes, STORES.meta], 'readwrite', async (tx) => {
        for (const person of page.people) tx.objectStore(STORES.people).put(person);
        for (const pass of page.passes) tx.objectStore(STORES.passes).put(pass);
        await req(tx.objectStore(STORES.meta).put({ key: 'roster_cursor', value: page.next_cursor }));
        if (idCardFields) await req(tx.objectStore(STORES.meta).put({ key: 'id_card_fields', value: idCardFields }));
      });
      if (idCardFields) changed.idCardFields = idCardFields;
      changed.people.push(...page.people);
      changed.passes.push(...page.passes);
    }
    await setMeta('roster_synced_at', Date.now());
    return changed;
  });
}
