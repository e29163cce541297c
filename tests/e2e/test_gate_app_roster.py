"""The roster a gate tablet keeps: one IndexedDB record per pulled page, carried over from the
per-person stores of older versions, never missing a page a pull cut short, merged once many."""

from __future__ import annotations

from tests.e2e.harness import enrolment_code

# Rebuilds the tablet's database as gate app 1.3.4 left it (schema version 2: one record per
# person and per pass), keeping its settings, device and cursor; on a page that runs no app code.
AS_VERSION_2_JS = """async () => {
    const done = (request) => new Promise((resolve, reject) => {
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
    });
    const current = await done(indexedDB.open('gatelog'));
    const read = current.transaction(['meta', 'roster'], 'readonly');
    const [meta, pages] = await Promise.all([
        done(read.objectStore('meta').getAll()), done(read.objectStore('roster').getAll())]);
    current.close();
    await done(indexedDB.deleteDatabase('gatelog'));
    const opening = indexedDB.open('gatelog', 2);
    opening.onupgradeneeded = () => {
        const db = opening.result;
        db.createObjectStore('outbox', { keyPath: 'seq' });
        db.createObjectStore('journal', { keyPath: 'id' })
            .createIndex('occurred_ms', 'occurred_ms');
        db.createObjectStore('attention', { keyPath: 'id' });
        db.createObjectStore('people', { keyPath: 'id' }).createIndex('badge_token', 'badge_token');
        db.createObjectStore('passes', { keyPath: 'id' }).createIndex('token', 'token');
        db.createObjectStore('last', { keyPath: 'subject' });
        db.createObjectStore('meta', { keyPath: 'key' });
        db.createObjectStore('rollcalls', { keyPath: 'id' });
    };
    const old = await done(opening);
    const write = old.transaction(['people', 'passes', 'meta'], 'readwrite');
    for (const page of pages) {
        for (const person of page.people) write.objectStore('people').put(person);
        for (const pass of page.passes) write.objectStore('passes').put(pass);
    }
    for (const row of meta) write.objectStore('meta').put(row);
    await new Promise((resolve, reject) => {
        write.oncomplete = resolve;
        write.onerror = () => reject(write.error);
    });
    old.close();
    return meta.find((row) => row.key === 'roster_cursor').value;
}"""

STORAGE_JS = """async () => {
    const { getMeta, openDb } = await import('/app/js/db.js');
    const db = await openDb();
    return { version: db.version, stores: [...db.objectStoreNames],
             cursor: await getMeta('roster_cursor') };
}"""

# Another tab's pull saved one page and was cut short; this tab's pull then goes on from there.
CUT_SHORT_JS = """async (query) => {
    const api = await import('/app/js/api.js');
    const { getMeta } = await import('/app/js/db.js');
    const { Roster } = await import('/app/js/roster.js');
    const { savePage } = await import('/app/js/rosterpages.js');
    const { getDevice, pullRoster } = await import('/app/js/sync.js');
    const roster = new Roster();
    await roster.load();
    const device = await getDevice();
    await savePage(await api.pullRoster(device.token, await getMeta('roster_cursor'), 1));
    const changes = await pullRoster();
    await roster.update(changes);
    return { pulled: changes.people.map((person) => person.name),
             found: roster.search(query).map((person) => person.name) };
}"""

MANY_PULLS_JS = """async (count) => {
    const { STORES, getMeta, req, run } = await import('/app/js/db.js');
    const { compactPages, readRoster, savePage } = await import('/app/js/rosterpages.js');
    const before = await readRoster();
    const cursor = await getMeta('roster_cursor');
    for (let i = 0; i < count; i += 1) {
        const person = { ...before.people[i], name: `Nguyễn Thị Đổi Tên ${i}` };
        await savePage({ people: [person], passes: [], next_cursor: cursor });
    }
    await compactPages();
    const after = await readRoster();
    const pages = await run([STORES.roster], 'readonly',
        (tx) => req(tx.objectStore(STORES.roster).count()));
    const ids = after.people.map((person) => person.id);
    const renamed = after.people.filter((person) => person.name.startsWith('Nguyễn Thị Đổi Tên'));
    return { pages, people: ids.length, distinct: new Set(ids).size, before: before.people.length,
             renamed: renamed.length };
}"""


def enrolled(open_tablet, site):
    tablet = open_tablet(site.server.url)
    tablet.wait_for_service_worker()
    tablet.enrol(
        enrolment_code(site.app, site.world.gates[0]["id"]), gate_name=site.world.gates[0]["name"]
    )
    tablet.wait_for_roster(len(site.world.workers))
    return tablet


def rename(app, worker_id: int, name: str) -> None:
    """HR renames a worker: the next roster pull carries the change."""
    from server.extensions import db
    from server.models import Worker
    from server.roster import mark_changed
    from server.text import fold

    with app.app_context():
        worker = db.session.get(Worker, worker_id)
        worker.full_name = name
        worker.search_name = fold(name)
        mark_changed(worker)
        db.session.commit()
        db.session.remove()


def test_the_roster_an_older_version_kept_is_there_offline_after_the_update(site, open_tablet):
    world = site.world
    tablet = enrolled(open_tablet, site)
    tablet.wait_waiting(0, 15)
    tablet.page.goto(f"{site.server.url}/manifest.webmanifest")
    cursor = tablet.page.evaluate(AS_VERSION_2_JS)

    site.server.kill()
    tablet.page.goto(f"{site.server.url}/")
    tablet.page.wait_for_selector("body[data-ready='true']", timeout=20000)
    tablet.wait_for_roster(len(world.workers))

    storage = tablet.page.evaluate(STORAGE_JS)
    assert storage == {
        "version": 3,
        "stores": ["attention", "journal", "last", "meta", "outbox", "rollcalls", "roster"],
        "cursor": cursor,
    }
    tablet.page.fill("#search", "nguyen van a")
    tablet.page.wait_for_function(
        "() => document.querySelector('#results').dataset.query === 'nguyen van a'"
    )
    assert "Nguyễn Văn An" in tablet.page.inner_text("#results")
    tablet.scan(f"GL1:W:{world.workers[5]['badge']}")
    assert world.workers[5]["name"] in tablet.page.inner_text("#feedback")


def test_a_page_saved_by_a_pull_cut_short_is_not_left_out_of_the_next_pull(site, open_tablet):
    world = site.world
    tablet = enrolled(open_tablet, site)
    rename(site.app, world.workers[3]["id"], "Trịnh Thị Cắt Ngang")
    rename(site.app, world.workers[4]["id"], "Trịnh Văn Kéo Tiếp")

    result = tablet.page.evaluate(CUT_SHORT_JS, "trinh")

    assert result["pulled"] == ["Trịnh Văn Kéo Tiếp"]
    assert sorted(result["found"]) == ["Trịnh Thị Cắt Ngang", "Trịnh Văn Kéo Tiếp"]


def test_many_small_pulls_are_merged_into_one_page_holding_the_same_people(site, open_tablet):
    tablet = enrolled(open_tablet, site)

    result = tablet.page.evaluate(MANY_PULLS_JS, 17)

    assert result["pages"] == 1
    assert result["people"] == result["distinct"] == result["before"]
    assert result["renamed"] == 17
