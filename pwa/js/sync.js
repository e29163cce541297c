// One push cycle and one roster pull, shared by the page and the service worker.
// Every push runs under one exclusive Web Lock, and reads the outbox only once it holds it, so
// two tabs (or a tab and Background Sync) can never send the same events at the same time.
import * as api from './api.js';
import { STORES, getMeta, req, run, setMeta } from './db.js';
import * as outbox from './outbox.js';
import { compactPages, savePage } from './rosterpages.js';
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

/** Thrown for a 2xx answer that is not an answer to this push (a captive portal, a proxy's `{}`). */
export class UnsettledAnswer extends api.NetworkError {
  constructor() {
    super('The answer settles nothing', 'unsettled');
  }
}

/**
 * The answer, if it answers this batch: it names the batch and acks each event, by id and in
 * order. Anything else settles nothing and counts as no answer (PROTOCOL §7): taken as success,
 * the loop below would resend the same batch at once, forever, holding the push lock.
 */
function settling(answer, body) {
  const acks = answer && answer.acks;
  const answersBatch =
    Boolean(answer) &&
    answer.batch_id === body.batch_id &&
    Array.isArray(acks) &&
    acks.length === body.events.length &&
    acks.every((ack, i) => ack && ack.id === body.events[i].id);
  if (!answersBatch) throw new UnsettledAnswer();
  return answer;
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
    // Before the request leaves: from now on the server may hold these events, so a flip must
    // record a correction instead of changing them (outbox.changeDirection).
    if (batch.length) await setMeta(outbox.PUSHED_UPTO, batch[batch.length - 1].seq);
    let answer;
    try {
      answer = settling(await api.push(device.token, body), body);
    } catch (error) {
      if (error instanceof api.ApiError && error.status === 413 && batch.length > 1) {
        size = Math.max(1, Math.floor(batch.length / 2));
        continue;
      }
      throw error;
    }
    const counts = await outbox.applyAcks(batch, answer.acks, { skewSeconds: answer.skew_seconds });
    for (const key of Object.keys(totals)) totals[key] += counts[key];
    if (answer.seq_reset || (answer.missing_ranges || []).length) {
      await setMeta('server_seq', { seqReset: !!answer.seq_reset, missing: answer.missing_ranges, at: Date.now() });
    }
    if (batch.length === 0) break;
  }
  return totals;
}

/** A wipe this tablet noticed (or the one it replaces) becomes a fact on the server; kept until answered. */
async function sendWipeReport(device) {
  const report = await getMeta(outbox.WIPE_REPORT);
  if (!report) return;
  try {
    const answer = await api.reportWipe(device.token, report);
    if (typeof answer.wipe_id !== 'number') throw new UnsettledAnswer();
  } catch (error) {
    // Refused for good (a client bug, or an old tablet named that is not ours): resending the
    // same report can never succeed, and must not hold the link in "failing" forever.
    if (!(error instanceof api.ApiError && (error.status === 400 || error.status === 404))) throw error;
  }
  await run([STORES.meta], 'readwrite', (tx) => req(tx.objectStore(STORES.meta).delete(outbox.WIPE_REPORT)), {
    durability: 'strict',
  });
}

/** Push everything waiting (or a heartbeat). Throws api.NetworkError/ApiError when it cannot. */
export function drain() {
  return navigator.locks.request(PUSH_LOCK, async () => {
    const device = await getDevice();
    if (!device) return null;
    try {
      // First, so the server counts the loss against what it had before this tablet goes on.
      await sendWipeReport(device);
      const totals = await pushAll(device);
      await recordLink(true);
      return totals;
    } catch (error) {
      await recordLink(false, error);
      throw error;
    }
  });
}

/** A roster page, or a failure that keeps the cursor (PROTOCOL §7): nothing else is ever saved. */
function rosterPage(answer) {
  const isPage =
    Array.isArray(answer.people) &&
    Array.isArray(answer.passes) &&
    Number.isSafeInteger(answer.next_cursor) &&
    typeof answer.has_more === 'boolean';
  if (!isPage) throw new UnsettledAnswer();
  return answer;
}

/**
 * Pull roster changes since the stored cursor; resolves with the changed people and passes, the
 * ID-card choice and the cursors it went `from` and `to`. onPage(page) sees each page once it is saved.
 */
export function pullRoster({ onPage = () => {} } = {}) {
  return navigator.locks.request(ROSTER_LOCK, async () => {
    const device = await getDevice();
    if (!device) return { people: [], passes: [] };
    const from = (await getMeta('roster_cursor')) || 0;
    const changed = { people: [], passes: [], idCardFields: undefined, from, to: from };
    const fetchPage = (cursor) => api.pullRoster(device.token, cursor, ROSTER_PAGE);
    let next = fetchPage(from);
    // Earlier pulls' pages are merged while this pull's first page is on its way.
    await compactPages();
    while (next) {
      const page = rosterPage(await next);
      // Ask for the next page while this one is written: the server and the disk work together.
      next = page.has_more ? fetchPage(page.next_cursor) : null;
      next?.catch(() => {});
      // Deactivated people and revoked passes are kept (inactive) so a scan can warn about them.
      await savePage(page);
      onPage(page);
      if (Array.isArray(page.id_card_fields)) changed.idCardFields = page.id_card_fields;
      changed.people.push(...page.people);
      changed.passes.push(...page.passes);
      changed.to = page.next_cursor;
    }
    return changed;
  });
}
