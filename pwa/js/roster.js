// The cached roster held in memory, so a scan resolves to a name well within 100 ms.
import { DEFAULT_KEPT } from './cccd.js';
import { STORES, req, run } from './db.js';
import { RosterIndex } from './search.js';

export class Roster {
  constructor() {
    this.people = new Map();
    this.byBadge = new Map();
    this.passes = new Map();
    this.index = new RosterIndex();
    // What the enterprise keeps of a visitor's chip ID card besides the name.
    this.idCardFields = DEFAULT_KEPT;
  }

  async load() {
    const stores = [STORES.people, STORES.passes, STORES.meta];
    const [people, passes, idCardFields] = await run(stores, 'readonly', (tx) =>
      Promise.all([
        req(tx.objectStore(STORES.people).getAll()),
        req(tx.objectStore(STORES.passes).getAll()),
        req(tx.objectStore(STORES.meta).get('id_card_fields')),
      ]),
    );
    this.people.clear();
    this.byBadge.clear();
    this.passes.clear();
    this.apply({ people, passes, idCardFields: idCardFields && idCardFields.value });
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
