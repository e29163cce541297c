// Evacuation roll call: who is inside (the server's last list plus this tablet's own events it
// did not have yet), and the roll call itself, kept in IndexedDB and sent whole after each change
// (sync/ROLLCALL.md). No DOM here.
import * as api from './api.js';
import { STORES, getMeta, req, run, setMeta } from './db.js';
import { fold } from './normalise.js';
import { isoWithOffset } from './time.js';

const PUSH_LOCK = 'gatelog-rollcall';
// The server's rule for "inside" (server/hr/activity/presence.py): an entry within the shift,
// or older by at most a day and then flagged as a possibly forgotten exit.
const DEFAULT_SHIFT_HOURS = 12;
const OVERDUE_LOOKBACK_MS = 24 * 3600 * 1000;
// A finished and sent roll call stays this long on the tablet; HR keeps it on the server.
const KEEP_MS = 2 * 24 * 3600 * 1000;

/** Ask the server who is inside across gates; kept for when the link is gone. */
export async function pullInside(device) {
  const answer = await api.pullInside(device.token);
  await setMeta('inside', { ...answer, pulled_at: Date.now() });
  return answer;
}

function serverHad(snapshot, seq) {
  if (!snapshot || seq > snapshot.highest_seq) return false;
  return !snapshot.missing_ranges.some(([first, last]) => seq >= first && seq <= last);
}

/** The person behind one of this tablet's journal entries, keyed as the server keys them. */
function personOf(entry, roster) {
  const { subject } = entry.event;
  const base = { name: entry.name || '', department: entry.department || '', code: entry.code || '' };
  if (subject.kind === 'worker') return { ...base, key: `w:${subject.value}`, kind: 'worker', worker_id: Number(subject.value) };
  if (subject.kind === 'badge') {
    const person = roster.byBadgeToken(subject.value);
    if (person) return { ...base, name: person.name, key: `w:${person.id}`, kind: 'worker', worker_id: person.id };
    return { ...base, key: `b:${subject.value}`, kind: 'unknown', worker_id: null };
  }
  const name = subject.kind === 'text' ? subject.value : base.name;
  const key = name ? `v:${fold(name)}` : `p:${subject.value}`;
  return { ...base, name, department: '', key, kind: 'visitor', worker_id: null };
}

/**
 * Everyone inside now: the server's last list, then each of this tablet's own events the server
 * did not have when it made that list, in time order. Returns {people, pulledAt, ownEvents}.
 */
export async function whoIsInside(roster, now = Date.now()) {
  const [snapshot, journal] = await Promise.all([
    getMeta('inside'),
    run([STORES.journal], 'readonly', (tx) => req(tx.objectStore(STORES.journal).getAll())),
  ]);
  const shiftMs = ((snapshot && snapshot.shift_hours) || DEFAULT_SHIFT_HOURS) * 3600 * 1000;
  const people = new Map();
  for (const person of (snapshot && snapshot.people) || []) {
    people.set(person.key, { ...person, since_ms: Date.parse(person.since) });
  }
  const own = journal
    .filter((entry) => !entry.rejected && !serverHad(snapshot, entry.seq))
    .sort((a, b) => a.occurred_ms - b.occurred_ms);
  for (const entry of own) {
    const person = personOf(entry, roster);
    const known = people.get(person.key);
    // A later entry elsewhere, which the server saw, outranks an older event here.
    if (known && known.since_ms > entry.occurred_ms) continue;
    if (entry.event.direction === 'in') people.set(person.key, { ...person, since_ms: entry.occurred_ms });
    else people.delete(person.key);
  }
  const inside = [...people.values()]
    .filter((person) => person.since_ms >= now - shiftMs - OVERDUE_LOOKBACK_MS)
    .map((person) => ({ ...person, overdue: person.since_ms < now - shiftMs }));
  return { people: inside, pulledAt: snapshot ? snapshot.pulled_at : null, ownEvents: own.length };
}

function entryOf(person) {
  return {
    key: person.key,
    kind: person.kind,
    worker_id: person.worker_id || null,
    name: person.name.slice(0, 200),
    department: (person.department || '').slice(0, 120),
    code: (person.code || '').slice(0, 40),
    ticked_at: null,
  };
}

function saveStrict(fn) {
  return run([STORES.rollcalls], 'readwrite', (tx) => fn(tx.objectStore(STORES.rollcalls)), { durability: 'strict' });
}

/** The roll call still open on this tablet, if any. */
export function current() {
  return run([STORES.rollcalls], 'readonly', async (tx) => {
    const all = await req(tx.objectStore(STORES.rollcalls).getAll());
    return all.filter((call) => !call.closed_at).sort((a, b) => b.started_ms - a.started_ms)[0] || null;
  });
}

export function load(id) {
  return run([STORES.rollcalls], 'readonly', (tx) => req(tx.objectStore(STORES.rollcalls).get(id)));
}

/** Start a roll call of who is `inside` (whoIsInside's answer), on disk before it is shown. */
export function start(gateId, inside, now = new Date()) {
  const call = {
    id: crypto.randomUUID(),
    version: 1,
    sent_version: 0,
    gate_id: gateId,
    started_at: isoWithOffset(now),
    started_ms: now.getTime(),
    closed_at: null,
    entries: inside.people.map(entryOf),
    // Where the list came from, for the guard; not sent.
    source: { pulledAt: inside.pulledAt, ownEvents: inside.ownEvents },
  };
  return saveStrict((store) => req(store.put(call))).then(() => call);
}

function change(id, apply) {
  return saveStrict(async (store) => {
    const call = await req(store.get(id));
    apply(call);
    call.version += 1;
    store.put(call);
    return call;
  });
}

/** Seen at the assembly point, or (a wrong tap) not after all. */
export function toggle(id, key, now = new Date()) {
  return change(id, (call) => {
    const entry = call.entries.find((item) => item.key === key);
    if (entry) entry.ticked_at = entry.ticked_at ? null : isoWithOffset(now);
  });
}

export function finish(id, now = new Date()) {
  return change(id, (call) => {
    call.closed_at = isoWithOffset(now);
  });
}

function wire(call) {
  const { id, version, gate_id, started_at, closed_at, entries } = call;
  return { id, version, gate_id, started_at, closed_at, entries };
}

/** Send every roll call changed since it was last sent; each answer (stored, duplicate, stale) settles that version. */
export function pushRollCalls(device) {
  return navigator.locks.request(PUSH_LOCK, async () => {
    const calls = await run([STORES.rollcalls], 'readonly', (tx) => req(tx.objectStore(STORES.rollcalls).getAll()));
    for (const call of calls.filter((item) => item.version > item.sent_version)) {
      let refused = null;
      try {
        await api.pushRollCall(device.token, wire(call));
      } catch (error) {
        // A refusal would come back the same on every retry: keep the reason, stop resending.
        if (!(error instanceof api.ApiError) || error.status !== 400) throw error;
        refused = error.code;
      }
      await run([STORES.rollcalls], 'readwrite', async (tx) => {
        const stored = await req(tx.objectStore(STORES.rollcalls).get(call.id));
        if (!stored) return;
        stored.sent_version = Math.max(stored.sent_version, call.version);
        stored.refused = refused;
        tx.objectStore(STORES.rollcalls).put(stored);
      });
    }
  });
}

export function unsentCount(store) {
  return req(store.getAll()).then((calls) => calls.filter((call) => call.version > call.sent_version).length);
}

/** Finished roll calls the server has, once old: HR keeps them, the tablet need not. */
export function prune(now = Date.now()) {
  return run([STORES.rollcalls], 'readwrite', async (tx) => {
    const store = tx.objectStore(STORES.rollcalls);
    for (const call of await req(store.getAll())) {
      if (call.closed_at && call.version === call.sent_version && call.started_ms < now - KEEP_MS) store.delete(call.id);
    }
  });
}
