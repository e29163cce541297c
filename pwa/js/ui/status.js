// The strip that is always on screen: link, backlog, last sync, trouble, storage, version.
import { getMeta } from '../db.js';
import { formatAge, formatTime, t } from '../i18n.js';
import * as outbox from '../outbox.js';
import { APP_VERSION } from '../version.js';
import { byId } from './dom.js';

const AUTH_ERRORS = new Set(['device_revoked', 'unauthorized']);

export class StatusStrip {
  constructor({ onAttention }) {
    this.persisted = null;
    byId('st-attention').addEventListener('click', onAttention);
  }

  /** Ask the browser not to evict our storage, and remember its answer for the strip. */
  async askPersistence() {
    if (!navigator.storage || !navigator.storage.persist) return;
    this.persisted = (await navigator.storage.persisted()) || (await navigator.storage.persist());
  }

  async refresh() {
    const [counts, link] = await Promise.all([outbox.summary(), getMeta('link')]);
    const online = navigator.onLine && (!link || link.ok);
    const linkNode = byId('st-link');
    linkNode.textContent = online ? t('online') : t('offline');
    linkNode.className = `pill ${online ? 'good' : 'bad'}`;

    const waiting = byId('st-waiting');
    waiting.dataset.count = counts.waiting;
    waiting.textContent = counts.oldestAt
      ? t('waiting_oldest', { count: counts.waiting, age: formatAge(Date.now() - Date.parse(counts.oldestAt)) })
      : t('waiting', { count: counts.waiting });
    waiting.className = `pill ${counts.waiting ? 'warn' : 'good'}`;

    byId('st-last').textContent =
      link && link.lastSyncAt ? t('last_sync', { time: formatTime(link.lastSyncAt) }) : t('never_synced');

    const attention = byId('st-attention');
    attention.hidden = counts.attention === 0;
    attention.dataset.count = counts.attention;
    attention.textContent = t('attention_count', { count: counts.attention });

    const problem = byId('st-problem');
    const authError = link && !link.ok && AUTH_ERRORS.has(link.code) ? link.code : null;
    problem.hidden = !authError;
    problem.textContent = authError ? t(authError) : '';

    const storage = byId('st-storage');
    storage.textContent =
      this.persisted === null
        ? t('storage_unknown')
        : t(this.persisted ? 'storage_persisted' : 'storage_not_persisted');
    storage.className = `pill ${this.persisted ? 'good' : 'warn'}`;
    byId('st-version').textContent = t('version', { version: APP_VERSION });
    return counts;
  }
}
