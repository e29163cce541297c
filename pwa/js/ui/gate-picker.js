// A dialog of big buttons, one per choice: the gate of the enterprise, the tablet replaced.
import { t } from '../i18n.js';
import { byId, el } from './dom.js';

/** options: [{value, label, primary}]; resolves with the chosen value, or `fallback` when closed. */
export function pickFrom(title, options, fallback) {
  const dialog = byId('gate-dialog');
  const list = byId('gate-list');
  byId('gate-dialog-title').textContent = title;
  return new Promise((resolve) => {
    list.replaceChildren(
      ...options.map((option) =>
        el(
          'button',
          {
            type: 'button',
            className: `big ${option.primary ? 'primary' : ''}`,
            dataset: { value: option.value ?? '' },
            onclick: () => {
              dialog.close();
              resolve(option.value);
            },
          },
          option.label,
        ),
      ),
    );
    dialog.onclose = () => resolve(fallback);
    dialog.showModal();
  });
}

export function pickGate(gates, currentId) {
  const options = gates.map((gate) => ({
    value: gate.id,
    label: `${gate.name} (${gate.code})`,
    primary: gate.id === currentId,
  }));
  return pickFrom(t('gate_pick'), options, currentId);
}
