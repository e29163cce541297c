// From a scan, a roster pick or a visitor form to a durable event; no DOM here.
import { looksLikeCccd, parseCccd } from './cccd.js';
import * as outbox from './outbox.js';

const BADGE = /^GL1:W:([A-Z2-7]{16,64})$/i;
const PASS = /^GL1:V:([A-Z2-7]{16,64})$/i;
const ENROL = /^GL1:E:([A-Z2-7]{6,32})$/i;
const POSTER = /^https?:\/\/[^/]+\/c\/[^/?#]+/i;

export function parseScan(text) {
  const content = String(text || '').trim();
  let match;
  if ((match = BADGE.exec(content))) return { type: 'badge', token: match[1].toUpperCase() };
  if ((match = PASS.exec(content))) return { type: 'pass', token: match[1].toUpperCase() };
  if ((match = ENROL.exec(content))) return { type: 'enrol', code: match[1].toUpperCase() };
  if (POSTER.test(content)) return { type: 'poster' };
  if (looksLikeCccd(content)) return { type: 'id_card', card: parseCccd(content) };
  return { type: 'unknown' };
}

export function opposite(direction) {
  return direction === 'in' ? 'out' : 'in';
}

async function proposedDirection(subjectKey) {
  const last = await outbox.lastDirection(subjectKey);
  return last ? opposite(last) : 'in';
}

/** What HR reads on a correction: which record it corrects (its seq and id), in both languages. */
function correctionNote(original) {
  const kept = original.note ? ` · ${original.note}` : '';
  return `Sửa chiều lượt #${original.seq} / corrects #${original.seq} (${original.id})${kept}`.slice(0, 500);
}

function personDisplay(person) {
  return { name: person.name, department: person.department || '', code: person.code || '' };
}

export class Recorder {
  /** roster: a Roster; gateId: () => the enrolled gate's id. */
  constructor(roster, gateId) {
    this.roster = roster;
    this.gateId = gateId;
  }

  /**
   * Resolve what a scan means, without writing anything: fast, for feedback within 100 ms.
   * Returns null for content that is not a badge or a pass.
   */
  async resolveScan(parsed) {
    if (parsed.type === 'badge') {
      const person = this.roster.byBadgeToken(parsed.token);
      const subjectKey = person ? `w:${person.id}` : `b:${parsed.token}`;
      let warning = null;
      if (!person) warning = 'unresolved';
      else if (!person.active) warning = 'worker_inactive';
      return {
        subject: { kind: 'badge', value: parsed.token },
        subjectKey,
        display: person ? personDisplay(person) : { name: '', department: '', code: parsed.token.slice(0, 6) },
        warning,
        direction: await proposedDirection(subjectKey),
      };
    }
    if (parsed.type === 'pass') {
      const pass = this.roster.byPassToken(parsed.token);
      const subjectKey = `p:${parsed.token}`;
      let warning = null;
      const now = Date.now();
      if (!pass) warning = 'unresolved';
      else if (!pass.active || Date.parse(pass.valid_until) < now || Date.parse(pass.valid_from) > now) {
        warning = 'pass_expired';
      }
      return {
        subject: { kind: 'pass', value: parsed.token },
        subjectKey,
        display: { name: pass ? pass.name : '', department: pass ? pass.organisation || '' : '', code: '' },
        warning,
        direction: await proposedDirection(subjectKey),
        visitorPass: true,
      };
    }
    return null;
  }

  /** Write a resolved scan. A deactivated worker or an expired pass is flagged by the server. */
  record(resolved, method, direction = resolved.direction) {
    return outbox.capture({
      gateId: this.gateId(),
      direction,
      subject: resolved.subject,
      method,
      subjectKey: resolved.subjectKey,
      display: { ...resolved.display, warning: resolved.warning },
    });
  }

  async proposeForPerson(person) {
    return proposedDirection(`w:${person.id}`);
  }

  recordPerson(person, direction) {
    return outbox.capture({
      gateId: this.gateId(),
      direction,
      subject: { kind: 'worker', value: String(person.id) },
      method: 'manual',
      subjectKey: `w:${person.id}`,
      display: { ...personDisplay(person), warning: null },
    });
  }

  /** From a scanned ID card: its method, and the note of what the gate keeps of it (cccd.js). */
  recordVisitor({ name, phone, organisation, purpose, host }, direction, { note = null, method = 'manual' } = {}) {
    const visitor = { name, phone, organisation, purpose, host };
    for (const key of Object.keys(visitor)) if (!visitor[key]) delete visitor[key];
    return outbox.capture({
      gateId: this.gateId(),
      direction,
      subject: { kind: 'text', value: name },
      method,
      visitor,
      note,
      subjectKey: `t:${name.toLowerCase()}`,
      display: { name, department: purpose || organisation || '', code: '', warning: 'visitor' },
    });
  }

  /**
   * Change the direction of the event just recorded while no push has carried it; after that,
   * record a correction of the other direction (the original may be on the server, and the
   * server pairs the two). Resolves with {correction: the new journal entry} or {correction: null}.
   */
  async flip(entry, subjectKey) {
    const direction = opposite(entry.event.direction);
    if (await outbox.changeDirection(entry, subjectKey, direction)) return { correction: null };
    const original = entry.event;
    const correction = await outbox.capture({
      gateId: original.gate_id,
      direction,
      subject: original.subject,
      method: 'manual',
      visitor: original.visitor,
      note: correctionNote(original),
      subjectKey,
      display: { name: entry.name, department: entry.department, code: entry.code, warning: entry.warning },
    });
    return { correction };
  }
}
