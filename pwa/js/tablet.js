// This tablet's enrolment: leaving it only when nothing waits, and noticing when the browser
// wiped its storage. No DOM here.
import { STORES, req, run } from './db.js';
import { PUSHED_UPTO, WIPE_REPORT } from './outbox.js';
import { unsentCount } from './rollcall.js';
import { isoWithOffset } from './time.js';

// Outside IndexedDB on purpose: when only IndexedDB is wiped (site data cleared in part, a
// corrupted database), this is what remembers that the tablet was enrolled and what waited.
const MARKER_KEY = 'gatelog.enrolment';
const WIPED_KEY = 'gatelog.wiped';

export class EventsWaiting extends Error {
  constructor(waiting, rollCalls) {
    super(`${waiting} events and ${rollCalls} roll calls waiting`);
    this.waiting = waiting;
    this.rollCalls = rollCalls;
  }
}

function readJson(key) {
  try {
    return JSON.parse(localStorage.getItem(key) || 'null');
  } catch {
    return null;
  }
}

/**
 * Remember the enrolment, the latest backlog and the highest seq outside IndexedDB: what a wipe
 * report says was at risk. `seq` never goes down (a capture may be counted before a refresh).
 */
export function writeMarker(device, { waiting, oldestAt = null, seq = 0 }) {
  const previous = readJson(MARKER_KEY);
  const sameDevice = previous && previous.device_id === device.device_id;
  const marker = {
    device_id: device.device_id,
    label: device.label || '',
    enterprise: device.enterprise.name,
    gate_id: device.gate_id,
    waiting,
    oldest_at: oldestAt,
    seq: Math.max(seq, (sameDevice && previous.seq) || 0),
    at: Date.now(),
  };
  localStorage.setItem(MARKER_KEY, JSON.stringify(marker));
}

/** The marker's seq moves with every capture, before the next refresh counts the backlog. */
export function markerSeq(device, seq) {
  const marker = readJson(MARKER_KEY);
  if (marker && marker.device_id === device.device_id && seq > (marker.seq || 0)) {
    localStorage.setItem(MARKER_KEY, JSON.stringify({ ...marker, seq }));
  }
}

/** What a wipe report tells the server, from the marker (PROTOCOL §10). */
function wipeReport(marker, replaces = null) {
  const known = marker && (!replaces || marker.device_id === replaces);
  return {
    replaces_device_id: replaces,
    waiting: known ? marker.waiting : null,
    last_seq: known && marker.seq ? marker.seq : null,
    counted_at: known ? isoWithOffset(new Date(marker.at)) : null,
    oldest_pending_at: known ? marker.oldest_at || null : null,
    detected_at: isoWithOffset(),
  };
}

/**
 * IndexedDB was cleared under the running app, which still holds the enrolment in memory: write
 * it back, carry on from the marker's seq (so the lost seqs show as gaps on the server, never as
 * a restart), and queue a wipe report. Null when another tab restored it first.
 */
export function restoreEnrolment(device) {
  const marker = readJson(MARKER_KEY);
  const mine = marker && marker.device_id === device.device_id ? marker : null;
  const report = wipeReport(mine);
  return run(
    [STORES.meta],
    'readwrite',
    async (tx) => {
      const meta = tx.objectStore(STORES.meta);
      if (await req(meta.get('device'))) return null;
      const seq = (mine && mine.seq) || 0;
      meta.put({ key: 'device', value: device });
      meta.put({ key: 'seq', value: seq });
      meta.put({ key: PUSHED_UPTO, value: seq });
      meta.put({ key: WIPE_REPORT, value: report });
      return report;
    },
    { durability: 'strict' },
  );
}

/** After enrolling: the wipe report naming the tablet this one replaces (from the notice, or the guard's pick). */
export function replacementReport(replacesId) {
  return wipeReport(readJson(WIPED_KEY), replacesId);
}

/**
 * Compare the marker with what IndexedDB holds at start. A marker for a device IndexedDB no longer
 * has means the storage was wiped: the notice is kept until the guard has read it. Returns the
 * notice to show, or null.
 */
export function checkMarker(device) {
  const marker = readJson(MARKER_KEY);
  const lost = marker && (!device || device.device_id !== marker.device_id);
  if (lost) {
    localStorage.setItem(WIPED_KEY, JSON.stringify(marker));
    localStorage.removeItem(MARKER_KEY);
  }
  return readJson(WIPED_KEY);
}

/** The start-up check's notice of a wiped enrolment, until the guard has read it. */
export function wipedNotice() {
  return readJson(WIPED_KEY);
}

export function dismissWiped() {
  localStorage.removeItem(WIPED_KEY);
}

/**
 * Forget the enrolment and everything cached, in one transaction that first checks that no event
 * and no roll call waits: one recorded in another tab meanwhile makes it refuse rather than lose it.
 */
export async function unenrol() {
  const names = Object.values(STORES);
  await run(
    names,
    'readwrite',
    async (tx) => {
      const [waiting, rollCalls] = await Promise.all([
        req(tx.objectStore(STORES.outbox).count()),
        unsentCount(tx.objectStore(STORES.rollcalls)),
      ]);
      if (waiting || rollCalls) throw new EventsWaiting(waiting, rollCalls);
      for (const name of names) tx.objectStore(name).clear();
    },
    { durability: 'strict' },
  );
  localStorage.removeItem(MARKER_KEY);
}
