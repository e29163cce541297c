// The cached roster on disk: one record per pulled page, later pages over earlier ones.
// One put per page instead of one per person: Chromium took about 5 s to write 50,000 people as
// 50,000 records (and 1 s to read them back), and under 0.2 s as ten pages.
import { STORES, req, run } from './db.js';

// Every pull that brings a change adds a page; past this many they are merged into one.
const MAX_PAGES = 16;

/** The last state of each id, later items over earlier ones. */
function latest(items) {
  const byId = new Map();
  for (const item of items) byId.set(item.id, item);
  return [...byId.values()];
}

function merged(pages) {
  return {
    people: latest(pages.flatMap((page) => page.people)),
    passes: latest(pages.flatMap((page) => page.passes)),
  };
}

/** A pulled page and the cursor after it (the time too after the last), in one transaction: the cursor never runs ahead of what is kept. */
export function savePage(page) {
  const stores = [STORES.roster, STORES.meta];
  return run(stores, 'readwrite', async (tx) => {
    // The pull every few minutes mostly brings nothing: no empty page is kept for it.
    if (page.people.length || page.passes.length) {
      tx.objectStore(STORES.roster).add({ people: page.people, passes: page.passes });
    }
    const meta = tx.objectStore(STORES.meta);
    await req(meta.put({ key: 'roster_cursor', value: page.next_cursor }));
    if (Array.isArray(page.id_card_fields)) await req(meta.put({ key: 'id_card_fields', value: page.id_card_fields }));
    if (!page.has_more) await req(meta.put({ key: 'roster_synced_at', value: Date.now() }));
  });
}

/** Everyone kept, page after page (a later state of a person after the earlier), the ID-card choice and the cursor. */
export async function readRoster() {
  const stores = [STORES.roster, STORES.meta];
  const [pages, idCardFields, cursor] = await run(stores, 'readonly', (tx) => {
    const meta = tx.objectStore(STORES.meta);
    return Promise.all([req(tx.objectStore(STORES.roster).getAll()), req(meta.get('id_card_fields')), req(meta.get('roster_cursor'))]);
  });
  return {
    people: pages.flatMap((page) => page.people),
    passes: pages.flatMap((page) => page.passes),
    idCardFields: idCardFields && idCardFields.value,
    cursor: (cursor && cursor.value) || 0,
  };
}

/** Merge the pages into one once there are many; in one transaction, so a page saved meanwhile waits for it. */
export function compactPages() {
  return run([STORES.roster], 'readwrite', async (tx) => {
    const store = tx.objectStore(STORES.roster);
    if ((await req(store.count())) <= MAX_PAGES) return;
    const roster = merged(await req(store.getAll()));
    store.clear();
    store.add(roster);
  });
}
