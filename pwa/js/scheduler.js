// When to push and pull: one tab leads (Web Lock), retries back off with jitter, and the
// online event, Background Sync and "sync now" start a push at once.
import { ApiError } from './api.js';
import { pullInside, pushRollCalls } from './rollcall.js';
import { BACKGROUND_SYNC_TAG, CHANNEL, drain, getDevice, pullRoster } from './sync.js';

const LEADER_LOCK = 'gatelog-leader';
const BASE_DELAY_MS = 2000;
const MAX_DELAY_MS = 30000;
const HEARTBEAT_MS = 60000;
const ROSTER_EVERY_MS = 5 * 60000;
// A new event waits this long before it is pushed, so a tap on "flip direction" can still change
// it in place; once the server has it, it can no longer be changed.
export const CORRECTION_WINDOW_MS = 3000;

/** Exponential backoff with jitter, so tablets that lost the link together do not return together. */
export function retryDelay(failures, error) {
  const exponential = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.max(0, failures - 1));
  const jittered = exponential * (0.5 + Math.random() * 0.5);
  if (error instanceof ApiError && error.retryAfterSeconds !== null) {
    return Math.max(jittered, error.retryAfterSeconds * 1000);
  }
  return jittered;
}

export class SyncScheduler {
  /** onChange(): outbox or link state changed; onRoster(changes|null): roster changed; onRosterPage(page): a pulled page is saved. */
  constructor({ onChange, onRoster, onRosterPage }) {
    this.onChange = onChange;
    this.onRoster = onRoster;
    this.onRosterPage = onRosterPage;
    this.channel = new BroadcastChannel(CHANNEL);
    this.leader = false;
    this.running = false;
    this.again = false;
    this.soon = false;
    this.failures = 0;
    this.timer = null;
    this.dueAt = 0;
    this.rosterPulledAt = 0;
  }

  start() {
    this.channel.onmessage = ({ data }) => {
      if (data === 'captured' && this.leader) this.kickSoon();
      else if (data === 'changed') this.onChange();
      else if (data === 'roster') this.onRoster(null);
    };
    window.addEventListener('online', () => this.kick());
    // The lock is held for the tab's life; when the leading tab closes, the next one takes over.
    navigator.locks.request(LEADER_LOCK, () => {
      this.leader = true;
      this.kick();
      return new Promise(() => {});
    });
  }

  /** A new event is on disk: make sure the leading tab pushes it soon. */
  captured() {
    this.changed();
    if (this.leader) this.kickSoon();
    else this.channel.postMessage('captured');
  }

  /** Push once the correction window has passed; never postpones a push due sooner, nor cuts a backoff short. */
  kickSoon() {
    if (this.running) {
      this.soon = true;
      return;
    }
    if (this.failures > 0) return;
    if (this.timer !== null && this.dueAt <= Date.now() + CORRECTION_WINDOW_MS) return;
    this.schedule(CORRECTION_WINDOW_MS);
  }

  schedule(delay) {
    clearTimeout(this.timer);
    this.dueAt = Date.now() + delay;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.kick();
    }, delay);
  }

  /** When the browser has Background Sync, it retries the push even after the tab is closed. */
  async registerBackgroundSync() {
    const registration = await navigator.serviceWorker?.getRegistration();
    if (registration && 'sync' in registration) {
      await registration.sync.register(BACKGROUND_SYNC_TAG).catch(() => {});
    }
  }

  kick() {
    if (this.running) {
      this.again = true;
      return;
    }
    this.cycle();
  }

  async cycle() {
    clearTimeout(this.timer);
    this.timer = null;
    this.running = true;
    let delay = HEARTBEAT_MS;
    let ok = false;
    try {
      await drain();
      await this.sendRollCalls();
      this.failures = 0;
      ok = true;
    } catch (error) {
      this.failures += 1;
      delay = retryDelay(this.failures, error);
      this.registerBackgroundSync();
    }
    this.changed();
    if (ok && Date.now() - this.rosterPulledAt > ROSTER_EVERY_MS) await this.pull().catch(() => {});
    this.running = false;
    if (this.again) {
      this.again = false;
      this.cycle();
      return;
    }
    this.schedule(this.soon && ok ? CORRECTION_WINDOW_MS : delay);
    this.soon = false;
  }

  /** Roll calls go after the events they were counted from. */
  async sendRollCalls() {
    const device = await getDevice();
    if (device) await pushRollCalls(device);
  }

  async pull() {
    const changes = await pullRoster({ onPage: this.onRosterPage });
    this.rosterPulledAt = Date.now();
    const changed = changes.people.length || changes.passes.length;
    // The ID-card choice comes with every pull and may change with no roster change.
    if (changed || changes.idCardFields) this.onRoster(changes);
    if (changed) this.channel.postMessage('roster');
    const device = await getDevice();
    // Who is inside is kept for a roll call without the link; a failed refresh keeps the last one.
    if (device) await pullInside(device).catch(() => {});
    return changes;
  }

  /** The guard's button: push and pull now, from whichever tab it is pressed in. */
  async syncNow() {
    try {
      await drain();
      await this.sendRollCalls();
      this.failures = 0;
      await this.pull();
    } finally {
      this.changed();
    }
  }

  changed() {
    this.onChange();
    this.channel.postMessage('changed');
  }
}
