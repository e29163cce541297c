// The evacuation roll call screen: everyone inside by department, one tap (or a badge scan) per
// person who reaches the assembly point, every tap on disk before it shows.
import { parseScan } from '../capture.js';
import { formatTime, t } from '../i18n.js';
import { fold } from '../normalise.js';
import * as rollcall from '../rollcall.js';
import { byId, el } from './dom.js';

const VISITORS = '\u0000visitors';

function groupsOf(entries) {
  const groups = new Map();
  for (const entry of entries) {
    const group = entry.kind === 'worker' ? entry.department || '' : VISITORS;
    if (!groups.has(group)) groups.set(group, []);
    groups.get(group).push(entry);
  }
  // Departments by name, then visitors and unknown badges last.
  return [...groups.entries()].sort(([a], [b]) => (a === VISITORS) - (b === VISITORS) || a.localeCompare(b, 'vi'));
}

export class RollCallView {
  /** device(): the enrolled device; onChanged(): a roll call changed on disk. */
  constructor({ roster, device, onChanged }) {
    this.roster = roster;
    this.device = device;
    this.onChanged = onChanged;
    this.call = null;
    byId('rollcall-button').addEventListener('click', () => this.open());
    byId('rc-back').addEventListener('click', () => this.close());
    byId('rc-finish').addEventListener('click', () => this.finish());
    byId('rc-filter').addEventListener('input', () => this.render());
  }

  get visible() {
    return !byId('rollcall-view').hidden;
  }

  /** Resume the roll call in progress, or start one of everyone inside now. */
  async open() {
    this.call = await rollcall.current();
    if (!this.call) {
      const inside = await rollcall.whoIsInside(this.roster);
      this.call = await rollcall.start(this.device().gate_id, inside);
      this.onChanged();
    }
    byId('gate-view').hidden = true;
    byId('rollcall-view').hidden = false;
    byId('rc-filter').value = '';
    this.render();
  }

  close() {
    byId('rollcall-view').hidden = true;
    byId('gate-view').hidden = false;
  }

  async toggle(key) {
    this.call = await rollcall.toggle(this.call.id, key);
    this.render();
    this.onChanged();
  }

  /** A badge scanned at the assembly point ticks its holder off. */
  async scan(text) {
    const parsed = parseScan(text);
    const person = parsed.type === 'badge' ? this.roster.byBadgeToken(parsed.token) : null;
    const key = person ? `w:${person.id}` : parsed.type === 'badge' ? `b:${parsed.token}` : null;
    const entry = this.call && !this.call.closed_at && this.call.entries.find((item) => item.key === key);
    if (entry && !entry.ticked_at) await this.toggle(key);
    else this.say(entry ? t('rc_already', { name: entry.name }) : t('rc_not_listed'));
  }

  say(message) {
    byId('rc-message').textContent = message;
    byId('rc-message').hidden = !message;
  }

  async finish() {
    this.call = await rollcall.finish(this.call.id);
    this.render();
    this.onChanged();
  }

  /** Called when a sync may have changed what the server has. */
  async refresh() {
    if (!this.visible || !this.call) return;
    this.call = (await rollcall.load(this.call.id)) || this.call;
    this.render();
  }

  render() {
    const call = this.call;
    const seen = call.entries.filter((entry) => entry.ticked_at).length;
    const total = call.entries.length;
    byId('rc-summary').dataset.seen = seen;
    byId('rc-summary').dataset.total = total;
    byId('rc-summary').textContent = t('rc_summary', { seen, total, missing: total - seen });
    byId('rc-started').textContent = t(call.closed_at ? 'rc_finished' : 'rc_started', {
      time: formatTime(Date.parse(call.started_at)),
      end: call.closed_at ? formatTime(Date.parse(call.closed_at)) : '',
    });
    const { source } = call;
    byId('rc-source').textContent = source.pulledAt
      ? t('rc_source', { time: formatTime(source.pulledAt), count: source.ownEvents })
      : t('rc_source_none', { count: source.ownEvents });
    const sync = byId('rc-sync');
    sync.dataset.state = call.refused ? 'refused' : call.version > call.sent_version ? 'waiting' : 'sent';
    sync.textContent = t(`rc_sync_${sync.dataset.state}`);
    byId('rc-finish').hidden = Boolean(call.closed_at);
    const query = fold(byId('rc-filter').value);
    const shown = call.entries.filter((entry) => !query || fold(`${entry.name} ${entry.code}`).includes(query));
    const list = byId('rc-list');
    if (!total) {
      list.replaceChildren(el('li', { className: 'empty' }, t('rc_nobody')));
      return;
    }
    list.replaceChildren(
      ...groupsOf(shown).map(([group, entries]) =>
        el(
          'li',
          { className: 'rc-group' },
          el('h3', {}, `${group === VISITORS ? t('rc_visitors') : group || t('rc_no_department')} (${entries.filter((e) => e.ticked_at).length}/${entries.length})`),
          el('ul', {}, ...entries.sort((a, b) => Boolean(a.ticked_at) - Boolean(b.ticked_at) || a.name.localeCompare(b.name, 'vi')).map((entry) => this.row(entry, Boolean(call.closed_at)))),
        ),
      ),
    );
  }

  row(entry, closed) {
    return el(
      'li',
      {},
      el(
        'button',
        {
          type: 'button',
          className: `rc-person ${entry.ticked_at ? 'seen' : 'missing'}`,
          disabled: closed,
          dataset: { key: entry.key, seen: entry.ticked_at ? 'true' : 'false' },
          onclick: () => this.toggle(entry.key),
        },
        el('span', { className: 'mark' }, entry.ticked_at ? '✓' : '○'),
        el('span', { className: 'who', title: entry.name || '' }, entry.name || `${t('unknown_person')} ${entry.code || ''}`),
        el('span', { className: 'code' }, entry.code || ''),
        el('span', { className: 'at' }, entry.ticked_at ? formatTime(Date.parse(entry.ticked_at)) : ''),
      ),
    );
  }
}
