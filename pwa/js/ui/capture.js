// The capture screen: scans (camera or handheld), roster search, visitors without a pass.
import { opposite, parseScan } from '../capture.js';
import { StorageLost } from '../outbox.js';
import { cardNote } from '../cccd.js';
import { t } from '../i18n.js';
import { CameraScanner } from '../scanner.js';
import { PUSH_LOCK } from '../sync.js';
import { byId, el } from './dom.js';
import { Feedback } from './feedback.js';

const NOTICES = { enrol: 'enrol_code_scanned', poster: 'poster_code', unknown: 'not_a_badge' };

export class CaptureView {
  /** recorder: a Recorder; roster: a Roster; onCaptured(entry): an event is on disk; onFailed(error): a write failed. */
  constructor({ recorder, roster, onCaptured, onFailed }) {
    this.recorder = recorder;
    this.roster = roster;
    this.onCaptured = onCaptured;
    this.onFailed = onFailed;
    this.last = null;
    // What the visitor form keeps of a scanned ID card until it is submitted or closed:
    // {note, method}.
    this.card = null;
    this.feedback = new Feedback({ onFlip: () => this.flip() });
    this.camera = new CameraScanner(byId('camera-video'), (text, method) => this.scan(text, method));
    this.searchBox = byId('search');
    this.searchBox.addEventListener('input', () => this.renderResults());
    byId('camera-toggle').addEventListener('click', () => this.toggleCamera());
    byId('visitor-button').addEventListener('click', () => this.openVisitor());
    byId('visitor-form').addEventListener('submit', (event) => this.submitVisitor(event));
    byId('visitor-cancel').addEventListener('click', () => byId('visitor-dialog').close());
    byId('visitor-dialog').addEventListener('close', () => {
      this.card = null;
    });
  }

  show() {
    byId('gate-view').hidden = false;
    this.renderResults();
  }

  async toggleCamera() {
    const panel = byId('camera-panel');
    if (this.camera.running) {
      this.camera.stop();
      panel.hidden = true;
      byId('camera-toggle').textContent = t('camera_start');
      return;
    }
    panel.hidden = false;
    byId('camera-toggle').textContent = t('camera_stop');
    try {
      await this.camera.start();
    } catch (error) {
      panel.hidden = true;
      byId('camera-toggle').textContent = t('camera_start');
      this.feedback.notice('camera_failed', { message: error.message });
    }
  }

  /** A code from the camera or a handheld scanner. */
  async scan(text, method) {
    const parsed = parseScan(text);
    if (parsed.type === 'id_card') {
      this.openVisitor(parsed.card, method);
      return;
    }
    let resolved;
    try {
      // Reads the last direction from IndexedDB, which fails like a write when storage is gone.
      resolved = await this.recorder.resolveScan(parsed);
    } catch (error) {
      this.fail(error);
      return;
    }
    if (!resolved) {
      this.feedback.notice(NOTICES[parsed.type]);
      return;
    }
    await this.save(
      { direction: resolved.direction, display: resolved.display, warning: resolved.warning, subjectKind: resolved.subject.kind },
      resolved.subjectKey,
      (direction) => this.recorder.record(resolved, method, direction),
      resolved.direction,
    );
  }

  /** Show the card, write, then say "saved" only once the write is durable. */
  async save(card, subjectKey, write, direction) {
    this.feedback.pending(card);
    try {
      const entry = await write(direction);
      this.last = { entry, subjectKey };
      this.feedback.saved(direction);
      this.onCaptured(entry);
    } catch (error) {
      this.fail(error);
    }
  }

  /** Nothing was written: the card must not keep saying the previous person was. */
  fail(error) {
    this.last = null;
    this.feedback.failed(error instanceof StorageLost ? 'storage_lost' : 'write_failed', error);
    this.onFailed(error);
  }

  /**
   * One tap to correct the direction of the event just recorded. Holding the push lock means it
   * is not in flight. Once a push has carried it, it is kept and a correction of the other
   * direction is recorded instead, and the card says so.
   */
  async flip() {
    if (!this.last) return;
    const { entry, subjectKey } = this.last;
    const direction = opposite(entry.event.direction);
    let outcome;
    try {
      outcome = await navigator.locks.request(PUSH_LOCK, () => this.recorder.flip(entry, subjectKey));
    } catch (error) {
      this.fail(error);
      return;
    }
    if (outcome.correction) {
      this.last = { entry: outcome.correction, subjectKey };
      this.feedback.corrected(direction);
      this.onCaptured(outcome.correction);
      return;
    }
    entry.event.direction = direction;
    this.feedback.direction(direction);
    this.onCaptured(entry);
  }

  async renderResults() {
    const query = this.searchBox.value;
    const list = byId('results');
    if (!query.trim()) {
      list.replaceChildren();
      byId('roster-info').dataset.count = this.roster.size;
      byId('roster-info').textContent = this.roster.size
        ? t('roster_size', { count: this.roster.size })
        : t('roster_empty');
      return;
    }
    const people = this.roster.search(query);
    const directions = await Promise.all(people.map((person) => this.recorder.proposeForPerson(person)));
    if (query !== this.searchBox.value) return;
    list.dataset.query = query;
    if (!people.length) {
      list.replaceChildren(el('li', { className: 'empty' }, t('no_results')));
      return;
    }
    list.replaceChildren(...people.map((person, i) => this.resultRow(person, directions[i])));
  }

  resultRow(person, proposed) {
    const pick = (direction) => () => {
      this.searchBox.value = '';
      this.renderResults();
      this.save(
        { direction, display: { name: person.name, department: person.department, code: person.code }, warning: null },
        `w:${person.id}`,
        (chosen) => this.recorder.recordPerson(person, chosen),
        direction,
      );
    };
    const other = opposite(proposed);
    return el(
      'li',
      { className: 'result', dataset: { personId: person.id } },
      el(
        'div',
        { className: 'who' },
        el('strong', {}, person.name),
        el('span', {}, [person.code, person.department].filter(Boolean).join(' · ')),
      ),
      el('button', { type: 'button', className: `dir dir-${proposed} primary`, dataset: { direction: proposed }, onclick: pick(proposed) }, t(proposed)),
      el('button', { type: 'button', className: `dir dir-${other}`, dataset: { direction: other }, onclick: pick(other) }, t(other)),
    );
  }

  /** The visitor form, empty or filled from a chip ID card (a broken card says why, and leaves the rest to the guard). */
  openVisitor(card = null, method = 'manual') {
    const form = byId('visitor-form');
    const dialog = byId('visitor-dialog');
    const name = (card && card.name) || '';
    // A card scanned into the open form keeps what the guard already typed there.
    if (!dialog.open) form.reset();
    if (name || !dialog.open) form.elements.name.value = name;
    const note = card && (card.last4 || card.birth_date || card.province) ? cardNote(card, this.roster.idCardFields) : null;
    this.card = card ? { note, method } : null;
    const info = byId('visitor-card');
    info.hidden = !card;
    // Once a card was read the visitor is not "without a pass": say what the form holds.
    if (card || !dialog.open) byId('visitor-title').textContent = t(card ? 'visitor_title_card' : 'visitor_title');
    if (card) {
      const problems = [...card.invalid, ...card.missing].map((field) => t(`cccd_${field}`));
      let state = 'read';
      if (!card.ok) state = 'unreadable';
      else if (problems.length) state = 'partial';
      info.dataset.state = state;
      // cccd_read, cccd_partial, cccd_unreadable
      byId('visitor-card-message').textContent = t(`cccd_${state}`, { fields: problems.join(', ') });
      byId('visitor-card-kept').textContent = note ? t('cccd_kept', { note }) : '';
    }
    if (!dialog.open) dialog.showModal();
    (name ? form.elements.phone : form.elements.name).focus();
  }

  submitVisitor(event) {
    event.preventDefault();
    const direction = event.submitter && event.submitter.value === 'out' ? 'out' : 'in';
    const form = event.target;
    const visitor = {
      name: form.elements.name.value.trim(),
      phone: form.elements.phone.value.trim(),
      organisation: form.elements.organisation.value.trim(),
      purpose: form.elements.purpose.value.trim(),
      host: form.elements.host.value.trim(),
    };
    if (!visitor.name) return;
    const card = this.card;
    byId('visitor-dialog').close();
    this.save(
      { direction, display: { name: visitor.name, department: visitor.purpose }, warning: 'visitor' },
      `t:${visitor.name.toLowerCase()}`,
      (chosen) => this.recorder.recordVisitor(visitor, chosen, card || {}),
      direction,
    );
  }
}
