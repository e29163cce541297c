// The big coloured card, the beep and the buzz a guard gets for every scan or pick.
import { t } from '../i18n.js';
import { byId } from './dom.js';

const WARNING_MESSAGES = {
  unresolved: 'unknown_badge',
  worker_inactive: 'warn_worker_inactive',
  pass_expired: 'warn_pass_expired',
  visitor: 'visitor_recorded',
};

let audio = null;

function beep(kind) {
  if ('vibrate' in navigator) navigator.vibrate(kind === 'ok' ? 80 : [120, 60, 120, 60, 120]);
  try {
    audio = audio || new AudioContext();
    const tones = kind === 'ok' ? [880] : [440, 330, 440];
    tones.forEach((frequency, i) => {
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      oscillator.frequency.value = frequency;
      gain.gain.value = 0.25;
      oscillator.connect(gain).connect(audio.destination);
      const start = audio.currentTime + i * 0.15;
      oscillator.start(start);
      oscillator.stop(start + 0.12);
    });
  } catch {
    // No audio before the first touch on some browsers: the card and the buzz still show.
  }
}

export class Feedback {
  constructor({ onFlip }) {
    this.card = byId('feedback');
    this.onFlip = onFlip;
    byId('fb-flip').addEventListener('click', () => this.onFlip());
  }

  /** Show at once (before the write), so the guard sees who it is within 100 ms. */
  pending({ direction, display, warning, subjectKind }) {
    const warningKey = warning === 'unresolved' && subjectKind === 'pass' ? 'unknown_pass' : WARNING_MESSAGES[warning];
    const level = !warning || warning === 'visitor' ? 'ok' : warning === 'unresolved' ? 'unknown' : 'alert';
    this.card.className = `feedback ${level} dir-${direction}`;
    this.card.hidden = false;
    this.card.dataset.state = 'saving';
    byId('fb-dir').textContent = t(direction);
    byId('fb-name').textContent = display.name || t('unknown_person');
    byId('fb-dept').textContent = [display.code, display.department].filter(Boolean).join(' · ');
    byId('fb-msg').textContent = warningKey ? t(warningKey) : '';
    byId('fb-state').textContent = t('saving');
    byId('fb-flip').hidden = true;
    beep(level === 'ok' ? 'ok' : 'alert');
  }

  saved(direction) {
    this.card.dataset.state = 'saved';
    byId('fb-state').textContent = `✓ ${t('saved')}`;
    const flip = byId('fb-flip');
    flip.textContent = t('flip_to', { direction: t(direction === 'in' ? 'out' : 'in') });
    flip.hidden = false;
  }

  direction(direction) {
    this.card.className = this.card.className.replace(/dir-\w+/, `dir-${direction}`);
    byId('fb-dir').textContent = t(direction);
    this.saved(direction);
  }

  /** The flipped record had been sent: a correction of `direction` was recorded beside it. */
  corrected(direction) {
    this.card.className = this.card.className.replace(/dir-\w+/, `dir-${direction}`);
    byId('fb-dir').textContent = t(direction);
    this.card.dataset.state = 'saved';
    byId('fb-state').textContent = `✓ ${t('flip_corrected', { direction: t(direction), original: t(direction === 'in' ? 'out' : 'in') })}`;
    byId('fb-flip').hidden = true;
  }

  /** Nothing was written: say so in red, whatever the card showed before, and sound the alarm. */
  failed(reasonKey, error) {
    this.card.className = 'feedback alert';
    this.card.hidden = false;
    this.card.dataset.state = 'failed';
    this.card.dataset.error = (error && (error.name || error.message)) || '';
    byId('fb-dir').textContent = '✗';
    byId('fb-name').textContent = t('not_saved');
    byId('fb-dept').textContent = '';
    byId('fb-msg').textContent = t(reasonKey);
    byId('fb-state').textContent = '';
    byId('fb-flip').hidden = true;
    beep('alert');
  }

  notice(key, params = {}) {
    this.card.className = 'feedback unknown';
    this.card.hidden = false;
    this.card.dataset.state = 'notice';
    byId('fb-dir').textContent = '';
    byId('fb-name').textContent = t(key, params);
    byId('fb-dept').textContent = '';
    byId('fb-msg').textContent = '';
    byId('fb-state').textContent = '';
    byId('fb-flip').hidden = true;
    beep('alert');
  }
}
