// The page's composition root: wire storage, sync, inputs and screens together.
import { Recorder, parseScan } from './capture.js';
import { getMeta, setMeta } from './db.js';
import { getLang, setLang, t, translatePage } from './i18n.js';
import { StorageLost, pruneJournal } from './outbox.js';
import { prune as pruneRollCalls } from './rollcall.js';
import { Roster } from './roster.js';
import { listenForScanner } from './scanner.js';
import { SyncScheduler } from './scheduler.js';
import { checkMarker, dismissWiped, markerSeq, restoreEnrolment, writeMarker } from './tablet.js';
import { CaptureView } from './ui/capture.js';
import { byId } from './ui/dom.js';
import { EnrolView } from './ui/enrol.js';
import { pickGate } from './ui/gate-picker.js';
import { Lists } from './ui/lists.js';
import { TabletMenu } from './ui/menu.js';
import { RollCallView } from './ui/rollcall.js';
import { StatusStrip } from './ui/status.js';
import { askReplacement } from './ui/replace.js';
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
  // Before enrolment there is nothing to send: the strip keeps only what is true of the browser.
  document.body.dataset.enrolled = device ? 'yes' : 'no';
  const counts = await status.refresh();
  if (device) {
    await lists.refresh();
    // Only while IndexedDB still holds the enrolment: a marker rewritten from a wiped store would
    // forget what was waiting.
    const [stored, seq] = await Promise.all([getMeta('device'), getMeta('seq')]);
    if (stored) writeMarker(stored, { waiting: counts.waiting, oldestAt: counts.oldestAt, seq: seq || 0 });
    else await recoverEnrolment();
    await rollCallView.refresh();
  }
  document.body.dataset.ready = 'true';
}

/**
 * IndexedDB lost the enrolment while this page still has it: restore it, report the wipe to the
 * server with what the marker knew, and tell the guard what may be lost.
 */
async function recoverEnrolment() {
  const report = await restoreEnrolment(device);
  if (!report) return;
  wiped = { ...report, device_id: device.device_id, label: device.label, restored: true };
  showWiped();
  scheduler.kick();
}

const scheduler = new SyncScheduler({
  onChange: () => refresh(),
  onRoster: async (changes) => {
    if (changes) await roster.update(changes);
    else await roster.load();
    if (!changes || changes.people.length || changes.passes.length) capture.renderResults();
  },
  onRosterPage: (page) => roster.prepare(page),
});

const capture = new CaptureView({
  recorder,
  roster,
  onCaptured: (entry) => {
    markerSeq(device, entry.seq);
    scheduler.captured();
  },
  onFailed: (error) => {
    if (error instanceof StorageLost) recoverEnrolment().then(refresh, () => {});
  },
});
// A tick is sent like a capture: soon, by the leading tab, with the same retries.
const rollCallView = new RollCallView({ roster, device: () => device, onChanged: () => scheduler.captured() });
const enrolView = new EnrolView({
  onEnrolled: async (enrolled, { replacedByCode }) => {
    device = enrolled;
    // HR's "replace tablet X" code: the server recorded X's wipe with the enrolment.
    if (!replacedByCode) await askReplacement(device);
    showGate();
    scheduler.kick();
    await scheduler.pull().catch(() => {});
  },
});

new TabletMenu({ device: () => device, onUnenrolled: () => window.location.reload() });

// What the storage-wipe check found at start, until the guard has read it.
let wiped = null;

function showWiped() {
  if (!wiped) return;
  const notice = wiped;
  let key = notice.waiting ? 'wiped_waiting' : 'wiped';
  if (notice.restored) key = notice.waiting ? 'wiped_restored_waiting' : 'wiped_restored';
  byId('wiped-text').textContent = t(key, {
    id: notice.device_id,
    label: notice.label,
    count: notice.waiting,
  });
  byId('wiped-banner').hidden = false;
  status.afterWipe = true;
}

function showHeader() {
  const gate = device.gates.find((g) => g.id === device.gate_id) || device.gates[0];
  byId('enterprise-name').textContent = device.enterprise.name;
  byId('gate-button').textContent = gate ? `${gate.name} (${gate.code})` : '';
  byId('gate-button').disabled = device.gates.length < 2;
  byId('gate-button').hidden = false;
  byId('menu-button').hidden = false;
  byId('rollcall-button').hidden = false;
}

function showGate() {
  showHeader();
  if (!rollCallView.visible) capture.show();
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
  else if (rollCallView.visible) rollCallView.scan(text);
  // With the visitor form open only a chip ID card means something: it fills the form.
  else if (byId('visitor-dialog').open && parseScan(text).type !== 'id_card') return;
  else capture.scan(text, method);
}

function switchLanguage() {
  setLang(getLang() === 'vi' ? 'en' : 'vi');
  translatePage();
  // The card holds words of the old language; the next scan shows a fresh one.
  byId('feedback').hidden = true;
  showWiped();
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
  byId('wiped-dismiss').addEventListener('click', () => {
    dismissWiped();
    wiped = null;
    byId('wiped-banner').hidden = true;
    status.afterWipe = false;
    refresh();
  });
  device = (await getMeta('device')) || null;
  wiped = checkMarker(device);
  showWiped();
  await status.askPersistence().catch(() => {});
  if (device) {
    await roster.load();
    showGate();
    pruneJournal().catch(() => {});
    pruneRollCalls().catch(() => {});
  } else {
    enrolView.show();
    refresh();
  }
  scheduler.start();
  setInterval(refresh, STATUS_REFRESH_MS);
  registerServiceWorker().catch(() => {});
}

start();
