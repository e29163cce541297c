// The durable outbox: an event exists once its IndexedDB transaction has completed ('strict').
import { STORES, req, run } from './db.js';
import { isoWithOffset, startOfToday } from './time.js';

const CAPTURE_STORES = [STORES.outbox, STORES.journal, STORES.meta, STORES.last];
const JOURNAL_KEEP_MS = 2 * 24 * 3600 * 1000;

/** The enrolment is gone from IndexedDB (site data cleared while the app was open): nothing was written. */
export class StorageLost extends Error {
  constructor() {
    super('storage_lost');
  }
}

/** The highest seq a push has carried, so far: an event at or below it may be on the server. */
export const PUSHED_UPTO = 'pushed_upto';
/** A wipe report waiting to be sent (tablet.js makes it, sync.js sends it). */
export const WIPE_REPORT = 'wipe_report';

/**
 * Record one event. Resolves with the journal entry once it is on disk; the id and the seq are
 * made here, in the same transaction, so a crash can neither lose nor repeat a seq.
 */
export function capture({ gateId, direction, subject, method, visitor, note, display, subjectKey, now = new Date() }) {
  return run(
    CAPTURE_STORES,
    'readwrite',
    async (tx) => {
      const meta = tx.objectStore(STORES.meta);
      // Written into a database that lost its enrolment, the event would never be sent and its
      // seq would restart at 1: refuse, so the guard is told and the enrolment restored first.
      const [device, last] = await Promise.all([req(meta.get('device')), req(meta.get('seq'))]);
      if (!device) throw new StorageLost();
      const seq = (last ? last.value : 0) + 1;
      meta.put({ key: 'seq', value: seq });
      const event = {
        id: crypto.randomUUID(),
        seq,
        occurred_at: isoWithOffset(now),
        gate_id: gateId,
        direction,
        subject,
        method,
      };
      if (visitor) event.visitor = visitor;
      if (note) event.note = note;
      tx.objectStore(STORES.outbox).put(event);
      // No status here: an entry is waiting while its seq is in the outbox and sent once it is not,
      // so acks only touch the journal for the rare rejected event.
      const entry = { id: event.id, seq, occurred_ms: now.getTime(), event, ...display };
      tx.objectStore(STORES.journal).put(entry);
      tx.objectStore(STORES.last).put({ subject: subjectKey, direction, at: now.getTime() });
      return entry;
    },
    { durability: 'strict' },
  );
}

/**
 * Change the direction of an event no push has carried yet; false once one has (it may be on the
 * server even if no answer came back, and a changed resend would be refused as a conflict).
 * The caller holds the push lock, so the event cannot be in flight.
 */
export function changeDirection({ id, seq }, subjectKey, direction) {
  return run(
    CAPTURE_STORES,
    'readwrite',
    async (tx) => {
      const [event, pushed] = await Promise.all([
        req(tx.objectStore(STORES.outbox).get(seq)),
        req(tx.objectStore(STORES.meta).get(PUSHED_UPTO)),
      ]);
      if (!event || event.id !== id || (pushed && seq <= pushed.value)) return false;
      event.direction = direction;
      tx.objectStore(STORES.outbox).put(event);
      const entry = await req(tx.objectStore(STORES.journal).get(id));
      if (entry) {
        entry.event = event;
        tx.objectStore(STORES.journal).put(entry);
      }
      tx.objectStore(STORES.last).put({ subject: subjectKey, direction, at: Date.now() });
      return true;
    },
    { durability: 'strict' },
  );
}

export function lastDirection(subjectKey) {
  return run([STORES.last], 'readonly', async (tx) => {
    const row = await req(tx.objectStore(STORES.last).get(subjectKey));
    return row ? row.direction : null;
  });
}

/** The oldest `limit` events by seq, plus the one after them (for oldest_pending_at). */
export function peek(limit) {
  return run([STORES.outbox], 'readonly', async (tx) => {
    const store = tx.objectStore(STORES.outbox);
    const [events, total] = await Promise.all([req(store.getAll(null, limit + 1)), req(store.count())]);
    return { batch: events.slice(0, limit), next: events[limit] || null, total };
  });
}

/** Every waiting event, in push order: what an export to a file holds. */
export function waitingEvents() {
  return run([STORES.outbox], 'readonly', (tx) => req(tx.objectStore(STORES.outbox).getAll()));
}

export function summary() {
  return run([STORES.outbox, STORES.attention], 'readonly', async (tx) => {
    const outbox = tx.objectStore(STORES.outbox);
    const [waiting, attention, cursor] = await Promise.all([
      req(outbox.count()),
      req(tx.objectStore(STORES.attention).count()),
      req(outbox.openCursor()),
    ]);
    return { waiting, attention, oldestAt: cursor ? cursor.value.occurred_at : null };
  });
}

/**
 * Apply the server's acks: accepted/duplicate leave the outbox, rejected move to "needs attention"
 * with the clock skew the server measured, so the guard sees the time it really happened.
 */
export function applyAcks(batch, acks, { now = new Date(), skewSeconds = 0 } = {}) {
  const byId = new Map(batch.map((event) => [event.id, event]));
  return run(
    [STORES.outbox, STORES.journal, STORES.attention],
    'readwrite',
    async (tx) => {
      const outbox = tx.objectStore(STORES.outbox);
      const counts = { accepted: 0, duplicate: 0, rejected: 0 };
      const settled = acks.filter((ack) => byId.has(ack.id) && ack.status in counts);
      const rejected = settled.filter((ack) => ack.status === 'rejected');
      const entries = await Promise.all(rejected.map((ack) => req(tx.objectStore(STORES.journal).get(ack.id))));
      rejected.forEach((ack, i) => {
        tx.objectStore(STORES.attention).put({
          id: ack.id,
          event: byId.get(ack.id),
          reason: ack.reason || 'rejected',
          message: ack.message || '',
          message_vi: ack.message_vi || '',
          at: now.getTime(),
          skew_seconds: Number.isFinite(skewSeconds) ? skewSeconds : 0,
          display: entries[i] ? { name: entries[i].name, department: entries[i].department } : null,
        });
        if (entries[i]) tx.objectStore(STORES.journal).put({ ...entries[i], rejected: true });
      });
      for (const ack of settled) counts[ack.status] += 1;
      // A batch is the lowest seqs in the outbox, so when all of it is settled one range covers it.
      if (settled.length === batch.length && batch.length) {
        outbox.delete(IDBKeyRange.bound(batch[0].seq, batch[batch.length - 1].seq));
      } else {
        for (const ack of settled) outbox.delete(byId.get(ack.id).seq);
      }
      return counts;
    },
    { durability: 'strict' },
  );
}

export function attentionList() {
  return run([STORES.attention], 'readonly', (tx) => req(tx.objectStore(STORES.attention).getAll()));
}

export function dismissAttention(id) {
  return run([STORES.attention], 'readwrite', (tx) => req(tx.objectStore(STORES.attention).delete(id)));
}

export function todayJournal(now = new Date()) {
  return run([STORES.journal, STORES.outbox], 'readonly', async (tx) => {
    const [entries, waiting] = await Promise.all([
      req(tx.objectStore(STORES.journal).index('occurred_ms').getAll(IDBKeyRange.lowerBound(startOfToday(now)))),
      req(tx.objectStore(STORES.outbox).getAllKeys()),
    ]);
    const waitingSeqs = new Set(waiting);
    for (const entry of entries) {
      entry.status = waitingSeqs.has(entry.seq) ? 'waiting' : entry.rejected ? 'rejected' : 'sent';
    }
    return entries;
  });
}

/** The journal is a convenience for the guard, not the record: keep it short (personal data). */
export function pruneJournal(now = new Date()) {
  return run([STORES.journal], 'readwrite', async (tx) => {
    const old = IDBKeyRange.upperBound(now.getTime() - JOURNAL_KEEP_MS);
    const keys = await req(tx.objectStore(STORES.journal).index('occurred_ms').getAllKeys(old));
    for (const key of keys) tx.objectStore(STORES.journal).delete(key);
  });
}
