// In-memory search over the cached roster; rebuilt when the roster changes.
import { compact, digitsOnly, fold } from './normalise.js';

const MAX_RESULTS = 20;
const SCORES = [100, 80, 60, 50, 40, 30];

function hasEveryWord(name, words) {
  for (const word of words) if (!name.includes(word)) return false;
  return true;
}

export class RosterIndex {
  constructor() {
    this.entries = [];
    // Folded names and codes made ahead of the next rebuild, which is the one to use them.
    this.folded = new Map();
  }

  /** Fold the people's names and codes now, while the rest of the roster is still on its way. */
  prepare(people) {
    for (const person of people) {
      this.folded.set(person.name, fold(person.name));
      this.folded.set(person.code, fold(person.code));
    }
  }

  /** Index the active people, sorted by folded name so every match list comes out sorted. */
  rebuild(people) {
    const folded = this.folded;
    this.folded = new Map();
    const folding = (text) => folded.get(text) ?? fold(text);
    const keyed = [];
    for (const person of people) {
      if (person.active) keyed.push({ person, name: ` ${folding(person.name)}`, code: folding(person.code) });
    }
    keyed.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    // Entries and their strings made afresh in sorted order: a search walks them in memory order.
    this.entries = keyed.map(({ person, name, code }) => ({
      person,
      name: compact(name),
      code: compact(code),
      phone: person.phone_last4 || '',
    }));
  }

  /** Best matches first: exact code, name prefix, code prefix, phone digits, code digits, words. */
  search(query) {
    const folded = fold(query);
    if (!folded) return [];
    const words = folded.split(' ').map((word) => ` ${word}`);
    const namePrefix = ` ${folded}`;
    const digits = digitsOnly(folded);
    const numeric = digits.length > 0 && digits === folded.replace(/\s/g, '');
    const phoneDigits = numeric && digits.length <= 4;
    // One list per score, each filled in name order and capped: no sort at query time.
    const buckets = new Map(SCORES.map((score) => [score, []]));
    for (const entry of this.entries) {
      let score = 0;
      if (entry.code === folded) score = 100;
      else if (entry.code.startsWith(folded)) score = 60;
      else if (numeric) {
        // Digits find codes and phones; names hold no digits.
        if (phoneDigits && entry.phone.endsWith(digits)) score = 50;
        else if (entry.code.includes(digits)) score = 40;
      } else if (entry.name.startsWith(namePrefix)) score = 80;
      else if (hasEveryWord(entry.name, words)) score = 30;
      if (!score) continue;
      const bucket = buckets.get(score);
      if (bucket.length < MAX_RESULTS) bucket.push(entry.person);
    }
    return SCORES.flatMap((score) => buckets.get(score)).slice(0, MAX_RESULTS);
  }
}
