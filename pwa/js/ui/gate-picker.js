// A dialog of big buttons, one per gate of the enterprise.
import { t } from '../i18n.js';
import { byId, el } from './dom.js';

export function pickGate(gates, currentId) {
  const dialog = byId('gate-dialog');
  const list = byId('gate-list');
  byId('gate-dialog-title').textContent = t('gate_pick');
  return new Promise((resolve) => {
    list.replaceChildren(
      ...gates.map((gate) =>
        el(
          'button',
          {
            type: 'button',
            className: `big ${gate.id === currentId ? 'primary' : ''}`,
            dataset: { gateId: gate.id },
            onclick: () => {
              dialog.close();
              resolve(gate.id);
            },
          },
          `${gate.name} (${gate.code})`,
        ),
      ),
    );
    dialog.onclose = () => resolve(currentId);
    dialog.showModal();
  });
}
