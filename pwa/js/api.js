// HTTP calls to /api/v1 (page and service worker). Errors carry what the retry logic needs.
const BASE = '/api/v1';
const TIMEOUT_MS = 20000;
const GZIP_OVER_BYTES = 16 * 1024;

export class NetworkError extends Error {
  /** code: 'network' for no answer, 'unsettled' for an answer that was not the server's. */
  constructor(message, code = 'network') {
    super(message);
    this.code = code;
  }
}

export class ApiError extends Error {
  constructor(status, body, retryAfterSeconds) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || `http_${status}`;
    this.messageVi = error.message_vi || '';
    this.details = error.details || {};
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

async function gzip(text) {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Response(stream).arrayBuffer();
}

async function call(path, { method = 'GET', token, json } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
    // The server counts its 1 MiB limit on the body as sent, so big batches go compressed.
    if (body.length > GZIP_OVER_BYTES && typeof CompressionStream === 'function') {
      body = await gzip(body);
      headers['Content-Encoding'] = 'gzip';
    }
  }
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
  try {
    let response;
    let data = null;
    try {
      // A redirect is never the server's answer (a captive portal, a login page in front of it):
      // not followed, it counts as no answer.
      response = await fetch(BASE + path, {
        method,
        headers,
        body,
        signal: abort.signal,
        cache: 'no-store',
        redirect: 'manual',
      });
      data = await response.json().catch(() => null);
    } catch (error) {
      // No answer at all (server down, link cut, answer lost): the caller retries later.
      throw new NetworkError(error.message);
    }
    if (response.type === 'opaqueredirect') throw new NetworkError('Redirected', 'unsettled');
    if (!response.ok) {
      const retryAfter = Number.parseInt(response.headers.get('Retry-After') || '', 10);
      throw new ApiError(response.status, data, Number.isFinite(retryAfter) ? retryAfter : null);
    }
    // A 2xx that is not a JSON object (an HTML portal page, a bare value) answers nothing.
    if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new NetworkError('Unreadable answer', 'unsettled');
    return data;
  } finally {
    clearTimeout(timer);
  }
}

export function enroll(code, label, appVersion, publicKey) {
  return call('/devices/enroll', {
    method: 'POST',
    json: { code, label, app_version: appVersion, public_key: publicKey },
  });
}

export function push(token, batch) {
  return call('/sync/push', { method: 'POST', token, json: batch });
}

export function reportWipe(token, report) {
  return call('/devices/wipe-reports', { method: 'POST', token, json: report });
}

export function replaceableTablets(token) {
  return call('/devices/replaceable', { token });
}

export function pullInside(token) {
  return call('/rollcalls/inside', { token });
}

export function pushRollCall(token, rollCall) {
  return call('/rollcalls', { method: 'POST', token, json: rollCall });
}

export function pullRoster(token, cursor, limit) {
  return call(`/sync/roster?cursor=${encodeURIComponent(cursor)}&limit=${limit}`, { token });
}
