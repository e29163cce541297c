// Scan inputs: a handheld scanner typing like a keyboard, and the camera.
import { looksLikeCccd } from './cccd.js';

// A handheld scanner types a whole code in well under this gap between keys.
const WEDGE_GAP_MS = 300;
const WEDGE_MIN_LENGTH = 6;

function isCode(text) {
  return /^GL1:/i.test(text) || looksLikeCccd(text);
}

/**
 * Collect keys typed fast, and hand over the text on Enter when no text field has focus. In a
 * text field, a line that looks like one of our codes or a chip ID card is taken as a scan as
 * well, so a card scanned into the visitor form fills it rather than submitting its number as a
 * name; the keys are used rather than the field's value, which its maxlength may have cut.
 */
export function listenForScanner(onScan, target = document) {
  let buffer = '';
  let lastKeyAt = 0;
  target.addEventListener('keydown', (event) => {
    if (event.ctrlKey || event.altKey || event.metaKey) return;
    const now = performance.now();
    if (now - lastKeyAt > WEDGE_GAP_MS) buffer = '';
    lastKeyAt = now;
    if (event.key.length === 1) {
      buffer += event.key;
      return;
    }
    if (event.key !== 'Enter') return;
    const typed = buffer;
    buffer = '';
    const field = event.target.closest && event.target.closest('input, textarea, select, [contenteditable]');
    if (!field) {
      if (typed.length >= WEDGE_MIN_LENGTH) {
        event.preventDefault();
        onScan(typed, 'scanner');
      }
      return;
    }
    if (field.dataset.scanner === 'off') return;
    const text = isCode(typed) ? typed : isCode(field.value || '') ? field.value : null;
    if (text === null) return;
    event.preventDefault();
    field.value = '';
    field.dispatchEvent(new Event('input', { bubbles: true }));
    onScan(text, 'scanner');
  });
}

// Holding one badge in front of the camera must give one record: a code is ignored while it
// stays in view and for this long after it was last seen.
const SAME_CODE_COOLDOWN_MS = 4000;
const FRAME_INTERVAL_MS = 150;
const JSQR_URL = '/app/vendor/jsQR.js';

let jsQRLoading = null;

function loadJsQR() {
  if (!jsQRLoading) {
    jsQRLoading = new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = JSQR_URL;
      script.onload = () => resolve(window.jsQR);
      script.onerror = () => {
        jsQRLoading = null;
        reject(new Error('jsQR did not load'));
      };
      document.head.append(script);
    });
  }
  return jsQRLoading;
}

async function makeDecoder() {
  if ('BarcodeDetector' in window) {
    const formats = await window.BarcodeDetector.getSupportedFormats();
    if (formats.includes('qr_code')) {
      const detector = new window.BarcodeDetector({ formats: ['qr_code'] });
      return async (video) => {
        const codes = await detector.detect(video);
        return codes.length ? codes[0].rawValue : null;
      };
    }
  }
  const jsQR = await loadJsQR();
  const canvas = document.createElement('canvas');
  const context = canvas.getContext('2d', { willReadFrequently: true });
  return async (video) => {
    const width = video.videoWidth;
    const height = video.videoHeight;
    if (!width || !height) return null;
    canvas.width = width;
    canvas.height = height;
    context.drawImage(video, 0, 0, width, height);
    const code = jsQR(context.getImageData(0, 0, width, height).data, width, height, {
      inversionAttempts: 'dontInvert',
    });
    return code ? code.data : null;
  };
}

export class CameraScanner {
  constructor(video, onScan) {
    this.video = video;
    this.onScan = onScan;
    this.stream = null;
    this.timer = null;
    this.seen = new Map();
  }

  get running() {
    return this.stream !== null;
  }

  async start() {
    if (this.stream) return;
    const decode = await makeDecoder();
    this.stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: 'environment', width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: false,
    });
    this.video.srcObject = this.stream;
    await this.video.play();
    const tick = async () => {
      if (!this.stream) return;
      try {
        const text = await decode(this.video);
        if (text) this.found(text);
      } finally {
        if (this.stream) this.timer = setTimeout(tick, FRAME_INTERVAL_MS);
      }
    };
    tick();
  }

  found(text) {
    const now = performance.now();
    const lastSeen = this.seen.get(text);
    this.seen.set(text, now);
    for (const [code, at] of this.seen) if (now - at > SAME_CODE_COOLDOWN_MS) this.seen.delete(code);
    if (lastSeen === undefined || now - lastSeen > SAME_CODE_COOLDOWN_MS) this.onScan(text, 'camera');
  }

  stop() {
    clearTimeout(this.timer);
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    this.stream = null;
    this.video.srcObject = null;
  }
}
