// The strip that is always on screen: link, backlog, last sync, trouble, storage, version.
import { getMeta } from '../db.js';
import { formatAge, formatTime, t } from '../i18n.js';
import * as outbox from '../outbox.js';
import { APP_VERSION } from '../version.js';
import { byId } from './dom.js';

const AUTH_ERRORS = new Set(['device_revoked', 'unauthorized']);
// The storage notice explains itself once; after that the pill brings it back on a tap.
const STORAGE_EXPLAINED_KEY = 'gatelog.storage_explained';

export class StatusStrip {
  constructor({ onAttention }) {
    this.persisted = null;
    // Set while the storage-wipe notice is up: a green "0 waiting" beside it would reassure wrongly.
    this.afterWipe = false;
    byId('st-attention').addEventListener('click', onAttention);
    byId('st-storage').addEventListener('click', () => {
      if (!this.persisted) this.explainStorage();
    });
    byId('storage-keep').addEventListener('click', () => this.keepStorage());
    byId('storage-dismiss').addEventListener('click', () => {
      localStorage.setItem(STORAGE_EXPLAINED_KEY, '1');
      byId('storage-banner').hidden = true;
    });
  }

  /** Ask the browser not to evict our storage, remember its answer, and explain a refusal once. */
  async askPersistence() {
    if (!navigator.storage || !navigator.storage.persist) return;
    this.persisted = (await navigator.storage.persisted()) || (await navigator.storage.persist());
    if (!this.persisted && !localStorage.getItem(STORAGE_EXPLAINED_KEY)) this.explainStorage();
  }

  explainStorage() {
    byId('storage-text').textContent = t('storage_explain');
    byId('storage-banner').hidden = false;
  }

  /** The guard's tap: browsers grant persistence to an installed app, so ask again now. */
  async keepStorage() {
    this.persisted = await navigator.storage.persist().catch(() => false);
    if (this.persisted) byId('storage-banner').hidden = true;
    else byId('storage-text').textContent = t('storage_refused');
    await this.refresh();
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
    waiting.className = `pill ${counts.waiting || this.afterWipe ? 'warn' : 'good'}`;
    if (this.afterWipe) waiting.textContent = t('waiting_after_wipe', { count: counts.waiting });

    byId('st-last').textContent =
      link && link.lastSyncAt ? t('last_sync', { time: formatTime(link.lastSyncAt) }) : t('never_synced');

    const attention = byId('st-attention');
    attention.hidden = counts.attention === 0;
    attention.dataset.count = counts.attention;
    attention.textContent = t('attention_count', { count: counts.attention });

    const problem = byId('st-problem');
    const failing = link && !link.ok ? link.code : null;
    const explained = AUTH_ERRORS.has(failing) || failing === 'unsettled' ? failing : null;
    problem.hidden = !explained;
    problem.textContent = explained ? t(explained) : '';

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
