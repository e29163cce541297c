// This tablet's enrolment: leaving it only when nothing waits, and noticing when the browser
// wiped its storage. No DOM here.
import { STORES, req, run } from './db.js';
import { unsentCount } from './rollcall.js';

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

/** Remember the enrolment and the latest backlog outside IndexedDB. */
export function writeMarker(device, waiting) {
  const marker = {
    device_id: device.device_id,
    label: device.label || '',
    enterprise: device.enterprise.name,
    waiting,
    at: Date.now(),
  };
  localStorage.setItem(MARKER_KEY, JSON.stringify(marker));
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
