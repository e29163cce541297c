// After an enrolment: the wiped tablet this one replaces, so the server states what it lost
// (sync/PROTOCOL.md §10).
import * as api from '../api.js';
import { setMeta } from '../db.js';
import { formatTime, t } from '../i18n.js';
import { WIPE_REPORT } from '../outbox.js';
import { replacementReport, wipedNotice } from '../tablet.js';
import { pickFrom } from './gate-picker.js';

/**
 * The wipe notice left by the start-up check names the old tablet; without one (nothing
 * survived), the guard picks it among the gate's other tablets, or says this one is new.
 */
export async function askReplacement(device) {
  const notice = wipedNotice();
  let replaces = notice && notice.device_id !== device.device_id ? notice.device_id : null;
  if (!replaces) {
    let tablets = [];
    try {
      tablets = (await api.replaceableTablets(device.token)).tablets || [];
    } catch {
      // Without the list the guard cannot pick; the board still flags a possible wipe.
      return;
    }
    const atGate = tablets.filter((tablet) => tablet.gate_id === device.gate_id);
    if (!atGate.length) return;
    const options = atGate.map((tablet) => ({
      value: tablet.device_id,
      label: t('replace_option', {
        id: tablet.device_id,
        label: tablet.label,
        time: tablet.last_sync_at ? formatTime(Date.parse(tablet.last_sync_at)) : t('never_synced'),
      }),
    }));
    options.push({ value: null, label: t('replace_none'), primary: true });
    replaces = await pickFrom(t('replace_title'), options, null);
  }
  if (replaces) await setMeta(WIPE_REPORT, replacementReport(replaces));
}
