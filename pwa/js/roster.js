// The cached roster held in memory, so a scan resolves to a name well within 100 ms.
import { DEFAULT_KEPT } from './cccd.js';
import { readRoster } from './rosterpages.js';
import { RosterIndex } from './search.js';

export class Roster {
  constructor() {
    this.people = new Map();
    this.byBadge = new Map();
    this.passes = new Map();
    this.index = new RosterIndex();
    // What the enterprise keeps of a visitor's chip ID card besides the name.
    this.idCardFields = DEFAULT_KEPT;
    // The roster cursor of what this holds: the disk's after load(), a pull's end after update().
    this.cursor = 0;
  }

  /** Everything kept on disk, afresh. */
  async load() {
    const kept = await readRoster();
    this.people.clear();
    this.byBadge.clear();
    this.passes.clear();
    this.apply(kept);
    this.cursor = kept.cursor;
  }

  /**
   * After a pull: its changes, when this holds what the pull started from; else everything from
   * disk, because a pull cut short (here or in another tab) saved pages no later pull brings again.
   */
  async update(changes) {
    if (changes.from !== this.cursor) {
      await this.load();
      return;
    }
    this.apply(changes);
    this.cursor = changes.to;
  }

  /** A page on its way in: its search keys are made while the pull waits for the next one. */
  prepare(page) {
    this.index.prepare(page.people);
  }

  /** Merge changed people and passes (as pulled) and rebuild the search index. */
  apply({ people, passes, idCardFields }) {
    if (Array.isArray(idCardFields)) this.idCardFields = idCardFields;
    for (const person of people) {
      const previous = this.people.get(person.id);
      if (previous && previous.badge_token) this.byBadge.delete(previous.badge_token);
      this.people.set(person.id, person);
      if (person.badge_token) this.byBadge.set(person.badge_token, person);
    }
    for (const pass of passes) this.passes.set(pass.token, pass);
    if (people.length) this.index.rebuild(this.people.values());
  }

  /** Active people, the ones search can find. */
  get size() {
    return this.index.entries.length;
  }

  search(query) {
    return this.index.search(query);
  }

  byBadgeToken(token) {
    return this.byBadge.get(token) || null;
  }

  byPassToken(token) {
    return this.passes.get(token) || null;
  }
}
