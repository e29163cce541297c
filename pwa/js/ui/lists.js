// "Today at this gate" and "needs attention".
import { fold } from '../normalise.js';
import { formatTime, getLang, t } from '../i18n.js';
import * as outbox from '../outbox.js';
import { byId, el } from './dom.js';

const SHOWN = 200;
// A tablet clock this far off the server's is worth showing beside the corrected time.
const SHOWN_SKEW_MS = 2 * 60000;
const ADVISED_REASONS = new Set(['future_time', 'time_out_of_range', 'unknown_gate', 'conflict', 'invalid_event', 'seq_repeated']);

/** When it happened by the server's clock (the tablet's own, if far off, in brackets). */
function attentionWhen(item) {
  const deviceMs = Date.parse(item.event.occurred_at);
  const skewMs = (item.skew_seconds || 0) * 1000;
  const deviceTime = Math.abs(skewMs) > SHOWN_SKEW_MS ? t('attention_device_time', { time: formatTime(deviceMs) }) : '';
  const when = t('attention_when', { time: formatTime(deviceMs + skewMs), dir: t(item.event.direction), seq: item.event.seq });
  return when + deviceTime;
}

/** What happened and what to do, in the guard's words; the server's message only for a reason we do not know. */
function attentionAdvice(item) {
  const dir = t(item.event.direction);
  const params = { dir, dir_lower: t(`dir_${item.event.direction}`).toLowerCase() };
  if (ADVISED_REASONS.has(item.reason)) return t(`attn_${item.reason}`, params);
  return t('attn_other', { ...params, message: (getLang() === 'vi' && item.message_vi) || item.message });
}

export class Lists {
  constructor({ gateId, onDismiss }) {
    this.gateId = gateId;
    this.onDismiss = onDismiss;
    byId('today-filter').addEventListener('input', () => this.renderToday());
    byId('today-direction').addEventListener('change', () => this.renderToday());
    for (const tab of document.querySelectorAll('[data-tab]')) {
      tab.addEventListener('click', () => this.showTab(tab.dataset.tab));
    }
  }

  showTab(name) {
    for (const tab of document.querySelectorAll('[data-tab]')) tab.classList.toggle('active', tab.dataset.tab === name);
    byId('today-panel').hidden = name !== 'today';
    byId('attention-panel').hidden = name !== 'attention';
  }

  async refresh() {
    await Promise.all([this.renderToday(), this.renderAttention()]);
  }

  async renderToday() {
    const query = fold(byId('today-filter').value);
    const direction = byId('today-direction').value;
    const gateId = this.gateId();
    const entries = (await outbox.todayJournal())
      .filter((entry) => entry.event.gate_id === gateId)
      .filter((entry) => !direction || entry.event.direction === direction)
      .filter((entry) => !query || fold(`${entry.name} ${entry.code}`).includes(query))
      .sort((a, b) => b.occurred_ms - a.occurred_ms)
      .slice(0, SHOWN);
    byId('today-list').replaceChildren(
      ...entries.map((entry) =>
        el(
          'li',
          { className: `entry status-${entry.status}`, dataset: { id: entry.id, status: entry.status } },
          el('span', { className: 'time' }, formatTime(entry.occurred_ms)),
          el('span', { className: `dir dir-${entry.event.direction}` }, t(entry.event.direction)),
          el('span', { className: 'who' }, entry.name || `${t('unknown_person')} ${entry.code || ''}`),
          el('span', { className: 'state' }, t(`status_${entry.status}`)),
        ),
      ),
    );
    byId('today-count').textContent = String(entries.length);
  }

  async renderAttention() {
    const items = (await outbox.attentionList()).sort((a, b) => b.at - a.at);
    byId('attention-tab-count').textContent = String(items.length);
    const list = byId('attention-list');
    if (!items.length) {
      list.replaceChildren(el('li', { className: 'empty' }, t('attention_empty')));
      return;
    }
    list.replaceChildren(
      ...items.map((item) =>
        el(
          'li',
          { className: 'attention', dataset: { id: item.id, reason: item.reason } },
          el(
            'div',
            { className: 'who' },
            el('strong', {}, (item.display && item.display.name) || item.event.subject.value),
            el('span', {}, attentionWhen(item)),
            el('span', { className: 'reason' }, attentionAdvice(item)),
          ),
          el(
            'button',
            {
              type: 'button',
              onclick: async () => {
                await outbox.dismissAttention(item.id);
                this.onDismiss();
              },
            },
            t('attention_dismiss'),
          ),
        ),
      ),
    );
  }
}
