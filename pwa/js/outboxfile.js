// The signed waiting-events file (sync/OUTBOX_FILE.md, "gatelog-outbox/1"): what a tablet that
// cannot sync hands to HR, who uploads it in the console. No DOM here.
import { isoWithOffset } from './time.js';
import { APP_VERSION } from './version.js';

export const FORMAT = 'gatelog-outbox/1';

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

function hex(buffer) {
  return [...new Uint8Array(buffer)].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** The key: the SHA-256 hex of the bearer token, which is all the server keeps of it. */
export async function signingKey(token) {
  return hex(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token)));
}

export async function sign(document, token) {
  const key = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(await signingKey(token)),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  return hex(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(canonical(document))));
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
  return { ...document, signature: await sign(document, device.token) };
}

export function fileName(device, now = new Date()) {
  const stamp = isoWithOffset(now).slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
  return `gatelog-outbox-tablet${device.device_id}-${stamp}.json`;
}
