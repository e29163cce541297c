// The gate screen: fetches the QR of each 30-second window as the server says it starts.
(function () {
  'use strict';

  var img = document.getElementById('qr');
  var windowMs = Number(img.dataset.window) * 1000;
  var current = null;

  function next() {
    fetch(img.dataset.src, { cache: 'no-store', credentials: 'omit' }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      var left = Number(response.headers.get('X-Seconds-Left')) * 1000 || windowMs;
      return response.blob().then(function (blob) {
        if (current) URL.revokeObjectURL(current);
        current = URL.createObjectURL(blob);
        img.src = current;
        document.getElementById('screen-error').hidden = true;
        setTimeout(next, left + 200);
      });
    }).catch(function () {
      // An old code must not stay up as if it were current.
      img.removeAttribute('src');
      document.getElementById('screen-error').hidden = false;
      setTimeout(next, 3000);
    });
  }

  next();
  document.body.dataset.ready = 'true';
})();
