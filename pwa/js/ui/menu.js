// The tablet menu: save waiting events to a file for HR, and un-enrol (never while events wait).
import { t } from '../i18n.js';
import { STORES, run } from '../db.js';
import * as outbox from '../outbox.js';
import { unsentCount } from '../rollcall.js';
import { NoSigningKey, buildOutboxFile, fileName } from '../outboxfile.js';
import { PUSH_LOCK } from '../sync.js';
import { EventsWaiting, unenrol } from '../tablet.js';
import { byId } from './dom.js';

function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

export class TabletMenu {
  /** device(): the enrolled device; onUnenrolled(): the tablet forgot its enrolment. */
  constructor({ device, onUnenrolled }) {
    this.device = device;
    this.onUnenrolled = onUnenrolled;
    this.dialog = byId('menu-dialog');
    byId('menu-button').addEventListener('click', () => this.open());
    byId('menu-close').addEventListener('click', () => this.dialog.close());
    byId('export-button').addEventListener('click', () => this.exportFile());
    byId('unenrol-button').addEventListener('click', () => this.askUnenrol());
    byId('unenrol-confirm').addEventListener('click', () => this.unenrol());
  }

  say(message, level = 'info') {
    const node = byId('menu-message');
    node.textContent = message;
    node.dataset.level = level;
    node.hidden = !message;
  }

  async open() {
    const device = this.device();
    byId('menu-device').textContent = t('menu_device', {
      id: device.device_id,
      enterprise: device.enterprise.name,
    });
    byId('unenrol-confirm').hidden = true;
    this.say('');
    this.dialog.showModal();
  }

  async exportFile() {
    const device = this.device();
    const events = await outbox.waitingEvents();
    if (!events.length) {
      this.say(t('export_nothing'));
      return;
    }
    const now = new Date();
    const name = fileName(device, now);
    let file;
    try {
      file = await buildOutboxFile(device, events, now);
    } catch (error) {
      if (!(error instanceof NoSigningKey)) throw error;
      this.say(t('export_no_key'), 'bad');
      return;
    }
    download(name, JSON.stringify(file));
    this.say(t('export_done', { count: events.length, file: name }), 'ok');
  }

  refuse(waiting, rollCalls) {
    this.say(waiting ? t('unenrol_refused', { count: waiting }) : t('unenrol_refused_rollcall', { count: rollCalls }), 'bad');
  }

  async askUnenrol() {
    const [{ waiting }, rollCalls] = await Promise.all([
      outbox.summary(),
      run([STORES.rollcalls], 'readonly', (tx) => unsentCount(tx.objectStore(STORES.rollcalls))),
    ]);
    if (waiting || rollCalls) {
      this.refuse(waiting, rollCalls);
      return;
    }
    this.say(t('unenrol_confirm_text'), 'bad');
    byId('unenrol-confirm').hidden = false;
  }

  async unenrol() {
    byId('unenrol-confirm').hidden = true;
    try {
      // Under the push lock: no push is half way through acking when the stores are cleared.
      await navigator.locks.request(PUSH_LOCK, () => unenrol());
    } catch (error) {
      if (!(error instanceof EventsWaiting)) throw error;
      this.refuse(error.waiting, error.rollCalls);
      return;
    }
    this.dialog.close();
    this.onUnenrolled();
  }
}
