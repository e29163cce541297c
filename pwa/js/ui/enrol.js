// First start: turn an enrolment code (scanned or typed) into a device token and a gate.
import * as api from '../api.js';
import { setMeta } from '../db.js';
import { getLang, t } from '../i18n.js';
import { makeSigningKey } from '../outboxfile.js';
import { CameraScanner } from '../scanner.js';
import { APP_VERSION } from '../version.js';
import { byId } from './dom.js';
import { pickGate } from './gate-picker.js';

export class EnrolView {
  constructor({ onEnrolled }) {
    this.onEnrolled = onEnrolled;
    this.busy = false;
    this.camera = new CameraScanner(byId('enrol-video'), (text) => this.enrol(text));
    byId('enrol-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.enrol(byId('enrol-code').value);
    });
    byId('enrol-camera').addEventListener('click', () => this.toggleCamera());
  }

  show() {
    byId('enrol-view').hidden = false;
    const label = byId('enrol-label');
    if (!label.value) label.value = t('enrol_label_default');
  }

  async toggleCamera() {
    const video = byId('enrol-video');
    if (this.camera.running) {
      this.camera.stop();
      video.hidden = true;
      return;
    }
    video.hidden = false;
    try {
      await this.camera.start();
    } catch (error) {
      video.hidden = true;
      this.error(t('camera_failed', { message: error.message }));
    }
  }

  error(message) {
    const node = byId('enrol-error');
    node.textContent = message;
    node.hidden = !message;
  }

  /** Also called by the handheld scanner with "GL1:E:<code>". */
  async enrol(rawCode) {
    const code = String(rawCode || '').trim();
    if (!code || this.busy) return;
    this.busy = true;
    this.error('');
    try {
      const label = byId('enrol-label').value.trim() || t('enrol_label_default');
      const signingKey = await makeSigningKey();
      const answer = await api.enroll(code, label, APP_VERSION, signingKey.publicKey);
      this.camera.stop();
      const gates = answer.gates && answer.gates.length ? answer.gates : [answer.gate];
      const gateId = gates.length > 1 ? await pickGate(gates, answer.gate.id) : answer.gate.id;
      const device = {
        device_id: answer.device_id,
        label,
        token: answer.token,
        signing_key: signingKey.privateKey,
        enterprise: answer.enterprise,
        gates,
        gate_id: gateId,
      };
      await setMeta('device', device);
      byId('enrol-view').hidden = true;
      this.onEnrolled(device, { replacedByCode: Boolean(answer.replaces_device_id) });
    } catch (error) {
      if (error instanceof api.NetworkError) this.error(t('enrol_offline'));
      else if (error.code === 'enrolment_code_invalid') this.error(t('enrol_invalid'));
      else this.error(t('enrol_failed', { message: (getLang() === 'vi' && error.messageVi) || error.message }));
    } finally {
      this.busy = false;
    }
  }
}
