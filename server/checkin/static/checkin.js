// Self check-in page: identify once, then one tap. Check-ins wait in localStorage until the
// server has acknowledged them, so a dropped link never loses one; each keeps the UUID it got at
// the tap, so a resend is recorded once (the server answers "duplicate").
(function () {
  'use strict';

  var cfg = JSON.parse(document.getElementById('config').textContent);
  var ME_KEY = 'gatelog-self-me-' + cfg.enterprise;
  var QUEUE_KEY = 'gatelog-self-queue';
  var RETRY_FIRST_MS = 2000;
  var RETRY_MAX_MS = 20000;
  var $ = function (id) { return document.getElementById(id); };
  var retryDelay = RETRY_FIRST_MS;
  var retryTimer = null;
  var flushing = false;

  function read(key, fallback) {
    try { return JSON.parse(localStorage.getItem(key)) || fallback; } catch (e) { return fallback; }
  }
  function write(key, value) { localStorage.setItem(key, JSON.stringify(value)); }

  // crypto.randomUUID exists only on secure origins; getRandomValues everywhere.
  function uuid4() {
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }

  // The local time with its offset, as the server keeps device time "as sent".
  function isoNow() {
    var d = new Date();
    var pad = function (n) { return String(Math.abs(n)).padStart(2, '0'); };
    var off = -d.getTimezoneOffset();
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + 'T' + pad(d.getHours()) + ':' +
      pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + '.' + String(d.getMilliseconds()).padStart(3, '0') +
      (off < 0 ? '-' : '+') + pad(Math.trunc(off / 60)) + ':' + pad(off % 60);
  }

  function post(url, body) {
    // A page opened from a gate screen's changing code proves with this pass it was there.
    if (cfg.presence && !body.presence) body = Object.assign({ presence: cfg.presence }, body);
    return fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      credentials: 'omit',
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { status: response.status, data: data };
      });
    });
  }

  function say(state, text) {
    var el = $('status');
    el.dataset.state = state;
    el.textContent = text;
  }

  function showQueue() {
    var count = read(QUEUE_KEY, []).length;
    var el = $('queue');
    el.dataset.count = String(count);
    el.hidden = count === 0;
    el.textContent = count ? cfg.messages.waiting.replace('{n}', count) : '';
  }

  function propose(direction) {
    var primary = direction === 'out' ? $('go-out') : $('go-in');
    var other = direction === 'out' ? $('go-in') : $('go-out');
    primary.classList.add('primary');
    other.classList.remove('primary');
    document.body.dataset.proposed = direction;
    $('proposal').textContent = cfg.messages['proposed_' + direction];
  }

  function showTap(me) {
    $('who').hidden = true;
    $('tap').hidden = false;
    $('person-name').textContent = me.name;
    propose(me.proposed || 'in');
  }

  function showWho() {
    $('tap').hidden = true;
    $('who').hidden = false;
  }

  function identity(me) {
    return me.worker ? { worker: me.worker } : { visitor: me.visitor };
  }

  // direction: the tap that came with the first identification (no declaration to answer), or null.
  function identifyWith(body, form, direction) {
    $('who-error').textContent = '';
    say('', '');
    post(cfg.urls.identify, body).then(function (answer) {
      if (answer.status === 200) {
        var me = Object.assign(identity(body), { name: answer.data.name, proposed: answer.data.proposed });
        write(ME_KEY, me);
        showTap(me);
        if (direction) tap(direction);
        return;
      }
      var error = answer.data.error || {};
      $('who-error').textContent = error.message || cfg.messages.failed;
      if (form && error.details && error.details.fields) markFields(form, error.details.fields);
    }, function () {
      $('who-error').textContent = cfg.messages.offline_identify;
    });
  }

  function markFields(form, fields) {
    var group = fields.worker || fields.visitor || {};
    Object.keys(group).forEach(function (name) {
      var input = form.elements[name];
      if (input) input.setAttribute('aria-invalid', 'true');
    });
  }

  function formValues(form, names) {
    var out = {};
    names.forEach(function (name) { out[name] = form.elements[name].value.trim(); });
    return out;
  }

  function answers() {
    var list = [];
    document.querySelectorAll('#declaration .question').forEach(function (q) {
      var name = 'q' + q.dataset.questionId;
      var value = '';
      if (q.dataset.kind === 'yes_no') {
        var checked = q.querySelector('input[name="' + name + '"]:checked');
        value = checked ? checked.value : '';
      } else {
        value = q.querySelector('input[name="' + name + '"]').value.trim();
      }
      list.push({ question_id: Number(q.dataset.questionId), answer: value });
    });
    return list;
  }

  function tap(direction) {
    var me = read(ME_KEY, null);
    if (!me) return showWho();
    var body = Object.assign(identity(me), {
      presence: cfg.presence || undefined,
      id: uuid4(),
      occurred_at: isoNow(),
      direction: direction,
      answers: direction === 'in' ? answers() : [],
    });
    var queue = read(QUEUE_KEY, []);
    queue.push({ url: cfg.urls.checkins, body: body });
    write(QUEUE_KEY, queue);
    me.proposed = direction === 'in' ? 'out' : 'in';
    write(ME_KEY, me);
    propose(me.proposed);
    $('in-form').reset();
    say('saving', cfg.messages.saving);
    retryDelay = RETRY_FIRST_MS;
    flush();
  }

  function drop(id) {
    write(QUEUE_KEY, read(QUEUE_KEY, []).filter(function (item) { return item.body.id !== id; }));
  }

  function retryLater() {
    clearTimeout(retryTimer);
    // Jitter keeps a crowd of phones that lost one Wi-Fi from retrying in the same second.
    retryTimer = setTimeout(flush, retryDelay * (0.75 + Math.random() / 2));
    retryDelay = Math.min(retryDelay * 2, RETRY_MAX_MS);
  }

  // Sends the queued check-ins oldest first; stops at the first one the link cannot carry.
  function flush() {
    if (flushing) return;
    var queue = read(QUEUE_KEY, []);
    showQueue();
    if (!queue.length) return;
    flushing = true;
    var item = queue[0];
    item.body.sent_at = isoNow();
    post(item.url, item.body).then(function (answer) {
      flushing = false;
      if (answer.status === 200) {
        drop(item.body.id);
        retryDelay = RETRY_FIRST_MS;
        var status = answer.data.status;
        if (status === 'conflict') say('conflict', cfg.messages.conflict);
        else say('saved', cfg.messages['saved_' + item.body.direction]);
        document.body.dataset.lastEvent = item.body.id;
        flush();
      } else if (answer.status === 429 || answer.status >= 500) {
        say('waiting', '');
        retryLater();
        showQueue();
      } else {
        // Refused for good (a rotated poster, a wrong answer): nothing was recorded, so it is
        // taken off the phone and the person is told why.
        drop(item.body.id);
        say('failed', cfg.messages.failed + ': ' + ((answer.data.error || {}).message || answer.status));
        showQueue();
        flush();
      }
    }, function () {
      flushing = false;
      say('waiting', '');
      showQueue();
      retryLater();
    });
  }

  function selectTab(kind) {
    var worker = kind === 'worker';
    $('tab-worker').setAttribute('aria-selected', String(worker));
    $('tab-visitor').setAttribute('aria-selected', String(!worker));
    $('worker-form').hidden = !worker;
    $('visitor-form').hidden = worker;
  }

  $('tab-worker').addEventListener('click', function () { selectTab('worker'); });
  $('tab-visitor').addEventListener('click', function () { selectTab('visitor'); });
  $('worker-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var submitter = event.submitter;
    var direction = submitter && submitter.name === 'direction' ? submitter.value : null;
    identifyWith({ worker: formValues(event.target, ['employee_code', 'phone']) }, event.target, direction);
  });
  $('visitor-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var fields = ['name', 'phone', 'organisation', 'purpose', 'host'];
    identifyWith({ visitor: formValues(event.target, fields) }, event.target);
  });
  $('in-form').addEventListener('submit', function (event) {
    event.preventDefault();
    tap('in');
  });
  $('go-out').addEventListener('click', function () { tap('out'); });
  $('not-me').addEventListener('click', function () {
    localStorage.removeItem(ME_KEY);
    showWho();
  });
  window.addEventListener('online', function () { retryDelay = RETRY_FIRST_MS; flush(); });

  var me = read(ME_KEY, null);
  if (me) {
    showTap(me);
    // Refresh the proposal from the server's record (another gate or a tablet may have logged
    // the person since); offline, the phone's own memory stands.
    post(cfg.urls.identify, identity(me)).then(function (answer) {
      if (answer.status === 200) {
        me.proposed = answer.data.proposed;
        write(ME_KEY, me);
        propose(me.proposed);
      } else if (answer.status === 422) {
        localStorage.removeItem(ME_KEY);
        showWho();
      }
    }, function () {});
  } else {
    showWho();
  }
  flush();
  // Lets the page open again without signal; check-ins never depend on it.
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/c/sw.js', { scope: '/c/' }).catch(function () {});
  }
  document.body.dataset.ready = 'true';
})();
