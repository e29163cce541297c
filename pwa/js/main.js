// The page's composition root: wire storage, sync, inputs and screens together.
import { Recorder } from './capture.js';
import { getMeta, setMeta } from './db.js';
import { getLang, setLang, t, translatePage } from './i18n.js';
import { pruneJournal } from './outbox.js';
import { Roster } from './roster.js';
import { listenForScanner } from './scanner.js';
import { SyncScheduler } from './scheduler.js';
import { CaptureView } from './ui/capture.js';
import { byId } from './ui/dom.js';
import { EnrolView } from './ui/enrol.js';
import { pickGate } from './ui/gate-picker.js';
import { Lists } from './ui/lists.js';
import { StatusStrip } from './ui/status.js';
import { registerServiceWorker } from './ui/update.js';

const STATUS_REFRESH_MS = 5000;

let device = null;
const roster = new Roster();
const recorder = new Recorder(roster, () => device.gate_id);
const lists = new Lists({ gateId: () => device && device.gate_id, onDismiss: () => refresh() });
const status = new StatusStrip({
  onAttention: () => {
    lists.showTab('attention');
    byId('attention-panel').scrollIntoView({ behavior: 'smooth' });
  },
});

async function refresh() {
  await status.refresh();
  if (device) await lists.refresh();
  document.body.dataset.ready = 'true';
}

const scheduler = new SyncScheduler({
  onChange: () => refresh(),
  onRoster: async (changes) => {
    if (changes) roster.apply(changes);
    else await roster.load();
    capture.renderResults();
  },
});

const capture = new CaptureView({ recorder, roster, onCaptured: () => scheduler.captured() });
const enrolView = new EnrolView({
  onEnrolled: async (enrolled) => {
    device = enrolled;
    showGate();
    scheduler.kick();
    await scheduler.pull().catch(() => {});
  },
});

function showHeader() {
  const gate = device.gates.find((g) => g.id === device.gate_id) || device.gates[0];
  byId('enterprise-name').textContent = device.enterprise.name;
  byId('gate-button').textContent = gate ? `${gate.name} (${gate.code})` : '';
  byId('gate-button').disabled = device.gates.length < 2;
  byId('gate-button').hidden = false;
}

function showGate() {
  showHeader();
  capture.show();
  refresh();
}

async function changeGate() {
  const gateId = await pickGate(device.gates, device.gate_id);
  if (gateId === device.gate_id) return;
  device = { ...device, gate_id: gateId };
  await setMeta('device', device);
  showGate();
}

function onScan(text, method) {
  if (!device) enrolView.enrol(text);
  else if (byId('visitor-dialog').open) return;
  else capture.scan(text, method);
}

function switchLanguage() {
  setLang(getLang() === 'vi' ? 'en' : 'vi');
  translatePage();
  // The card holds words of the old language; the next scan shows a fresh one.
  byId('feedback').hidden = true;
  if (device) showGate();
  else refresh();
}

async function syncNow() {
  const button = byId('sync-now');
  button.disabled = true;
  button.textContent = t('syncing');
  try {
    await scheduler.syncNow();
  } catch {
    // the status strip already shows the failure
  } finally {
    button.disabled = false;
    button.textContent = t('sync_now');
  }
}

async function start() {
  translatePage();
  byId('lang-button').addEventListener('click', switchLanguage);
  byId('gate-button').addEventListener('click', changeGate);
  byId('sync-now').addEventListener('click', syncNow);
  listenForScanner(onScan);
  device = (await getMeta('device')) || null;
  await status.askPersistence().catch(() => {});
  if (device) {
    await roster.load();
    showGate();
    pruneJournal().catch(() => {});
  } else {
    enrolView.show();
    refresh();
  }
  scheduler.start();
  setInterval(refresh, STATUS_REFRESH_MS);
  registerServiceWorker().catch(() => {});
}

start();
