// The QR code on a Vietnamese chip ID card (CCCD): "number|old number|full name|birth date
// (DDMMYYYY)|sex|permanent address|issue date (DDMMYYYY)". Cards issued under the 2023 Identity
// Law may carry fewer or other fields, so whatever is there is read and what is missing is said.
// Pure: no DOM, no storage.

export const FIELDS = ['number', 'old_number', 'name', 'birth_date', 'sex', 'address', 'issue_date'];
// Personal-data rules: a visitor is recorded with the name and, of the rest of the card, only
// what the enterprise chose among these (the roster pull says which; this until the first pull).
export const DEFAULT_KEPT = ['birth_date', 'last4', 'province'];

// A card number, then "|": enough to tell a card from a badge, a pass or a poster, and to give a
// broken card a message of its own rather than "not a badge".
const SHAPE = /^\s*\d[\d ]{5,15}\|/;
const PROVINCE_PREFIX = /^(tỉnh|thành phố|tp\.?)\s+/iu;

export function looksLikeCccd(text) {
  return SHAPE.test(String(text || ''));
}

/** "DDMMYYYY" as "YYYY-MM-DD", or null when it is not a real date. */
export function cardDate(text) {
  const match = /^(\d{2})(\d{2})(\d{4})$/.exec(text);
  if (!match) return null;
  const [, day, month, year] = match.map(Number);
  const date = new Date(Date.UTC(year, month - 1, day));
  const real = date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  return real && year >= 1900 ? `${match[3]}-${match[2]}-${match[1]}` : null;
}

/** The last part of an address ("…, Tỉnh Lai Châu") without "Tỉnh"/"Thành phố". */
export function provinceOf(address) {
  const parts = address
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  return parts.length ? parts[parts.length - 1].replace(PROVINCE_PREFIX, '') : '';
}

/**
 * Read a scanned card. Returns {ok, number, last4, old_number, name, birth_date, sex, address,
 * province, issue_date, missing, invalid}: `missing` names the fields absent or empty, `invalid`
 * those present but unreadable; `ok` when there is a name and a 12-digit number to record.
 */
export function parseCccd(text) {
  const parts = String(text || '')
    .trim()
    .split('|')
    .map((part) => part.trim());
  const raw = Object.fromEntries(FIELDS.map((name, i) => [name, parts[i] || '']));
  const card = { missing: [], invalid: [] };
  const number = raw.number.replace(/ /g, '');
  if (/^\d{12}$/.test(number)) {
    card.number = number;
    card.last4 = number.slice(-4);
  } else {
    card.invalid.push('number');
  }
  // The old 9-digit ID is printed only on cards of people who had one.
  if (raw.old_number && /^\d{9}$/.test(raw.old_number)) card.old_number = raw.old_number;
  else if (raw.old_number) card.invalid.push('old_number');
  if (/^[\p{L}][\p{L}\p{M} .'-]{0,119}$/u.test(raw.name.normalize('NFC'))) card.name = raw.name.normalize('NFC').replace(/\s+/g, ' ');
  else if (raw.name) card.invalid.push('name');
  for (const name of ['birth_date', 'issue_date']) {
    if (!raw[name]) continue;
    const date = cardDate(raw[name]);
    if (date) card[name] = date;
    else card.invalid.push(name);
  }
  if (raw.sex) card.sex = raw.sex;
  if (raw.address) {
    card.address = raw.address;
    card.province = provinceOf(raw.address);
  }
  for (const name of FIELDS) {
    if (name !== 'old_number' && !raw[name]) card.missing.push(name);
  }
  card.ok = Boolean(card.number && card.name);
  return card;
}

/**
 * What the gate keeps of a card besides the name, as the visitor's note: e.g. "CCCD …1234 ·
 * 01/01/1990 · Lai Châu" with every field kept, "CCCD" alone (identified by card) with none.
 */
export function cardNote(card, kept = DEFAULT_KEPT) {
  const keeps = (field) => kept.includes(field) && card[field];
  const birth = keeps('birth_date') ? card.birth_date.split('-').reverse().join('/') : '';
  return [keeps('last4') ? `CCCD …${card.last4}` : 'CCCD', birth, keeps('province') || ''].filter(Boolean).join(' · ');
}
