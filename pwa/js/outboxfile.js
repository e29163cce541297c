// The signed waiting-events file (sync/OUTBOX_FILE.md, "gatelog-outbox/2"): what a tablet that
// cannot sync hands to HR, who uploads it in the console. No DOM here.
import { isoWithOffset } from './time.js';
import { APP_VERSION } from './version.js';

export const FORMAT = 'gatelog-outbox/2';

/** JSON with object keys sorted at every level and no spaces: the form the server verifies. */
export function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const members = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value);
}

const KEY_PAIR = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' };

/** Thrown when the tablet was enrolled by an app that made no signing key: HR cannot check its files. */
export class NoSigningKey extends Error {}

function base64url(buffer) {
  return btoa(String.fromCharCode(...new Uint8Array(buffer)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

/**
 * At enrolment: a key pair whose private half signs files but can never be read out of this
 * browser (a non-extractable CryptoKey, kept in IndexedDB with the device). The server keeps only
 * the public half, so nobody who reads its database can sign a file as this tablet.
 */
export async function makeSigningKey() {
  const pair = await crypto.subtle.generateKey(KEY_PAIR, false, ['sign', 'verify']);
  return {
    privateKey: pair.privateKey,
    publicKey: base64url(await crypto.subtle.exportKey('spki', pair.publicKey)),
  };
}

/** WebCrypto writes ECDSA signatures as r || s (IEEE P1363), which is what the server expects. */
export async function sign(document, privateKey) {
  return base64url(await crypto.subtle.sign(SIGNING, privateKey, new TextEncoder().encode(canonical(document))));
}

/** The file for `events`, exactly as they wait in the outbox (never renumbered or changed). */
export async function buildOutboxFile(device, events, now = new Date()) {
  const document = {
    format: FORMAT,
    device_id: device.device_id,
    enterprise_id: device.enterprise.id,
    exported_at: isoWithOffset(now),
    app_version: APP_VERSION,
    events,
  };
  if (!device.signing_key) throw new NoSigningKey();
  return { ...document, signature: await sign(document, device.signing_key) };
}

export function fileName(device, now = new Date()) {
  const stamp = isoWithOffset(now).slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
  return `gatelog-outbox-tablet${device.device_id}-${stamp}.json`;
}
