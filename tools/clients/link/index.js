// The frontend SDK of the hosted connect page (docs/linking.md): opens the
// page of a link session in a popup (or, when popups are blocked, in the
// same window), and tells the caller which account was linked.
//
// Works as a plain <script> (window.UnifiedLink.openLink) and as a
// CommonJS module. No dependencies.
(function (root, factory) {
  'use strict';
  var api = factory();
  if (typeof module === 'object' && module.exports) module.exports = api;
  if (root) root.UnifiedLink = api;
})(typeof window !== 'undefined' ? window : null, function () {
  'use strict';

  var SOURCE = 'unified-link';
  var DEFAULT_TIMEOUT_MS = 15 * 60 * 1000;

  function withMode(url, mode) {
    var u = new URL(url);
    u.searchParams.set('mode', mode);
    return u.toString();
  }

  // Opens the connect page at `options.url` (CreateLinkSession's `url`).
  //   onSuccess({integratedAccountId, provider, state}): the account linked.
  //   onExit({reason, state}): nothing linked; reason is the page's
  //     ("access_denied", "cancelled", ...), "closed" (the popup was
  //     closed), or "timeout".
  //   timeoutMs: gives up after this long (default 15 minutes).
  //   window: the window to open from (default: the global one).
  // Only messages from the page's own origin, sent by the popup it opened,
  // are taken. When the popup is blocked the page opens in this window
  // instead (the redirect flow: the session's return_url gets the answer)
  // and the returned handle's `redirected` is true.
  function openLink(options) {
    if (!options || typeof options.url !== 'string') {
      throw new TypeError('openLink needs {url}');
    }
    var win = options.window || window;
    var onSuccess = options.onSuccess || function () {};
    var onExit = options.onExit || function () {};
    var origin = new URL(options.url).origin;
    var popup = win.open(withMode(options.url, 'popup'), 'unified-link',
                         'popup,width=480,height=680');
    if (!popup) {
      win.location.assign(withMode(options.url, 'redirect'));
      return {redirected: true, close: function () {}};
    }
    var done = false;
    var timer = null;
    var watcher = null;
    function finish() {
      done = true;
      win.removeEventListener('message', onMessage);
      if (timer) win.clearTimeout(timer);
      if (watcher) win.clearInterval(watcher);
    }
    function onMessage(event) {
      if (done || event.origin !== origin || event.source !== popup) return;
      var data = event.data;
      if (!data || data.source !== SOURCE) return;
      finish();
      if (data.type === 'success') {
        onSuccess({integratedAccountId: data.integrated_account_id,
                   provider: data.provider, state: data.state});
      } else {
        onExit({reason: data.reason || 'unknown', state: data.state});
      }
    }
    function exit(reason) {
      if (done) return;
      finish();
      try { popup.close(); } catch (e) { /* Already gone. */ }
      onExit({reason: reason});
    }
    win.addEventListener('message', onMessage);
    timer = win.setTimeout(function () { exit('timeout'); },
                           options.timeoutMs || DEFAULT_TIMEOUT_MS);
    // A message and the popup's closing may race: the message, queued
    // first, wins.
    watcher = win.setInterval(function () {
      if (popup.closed) win.setTimeout(function () { exit('closed'); }, 50);
    }, 250);
    return {redirected: false, close: function () { exit('closed'); }};
  }

  return {openLink: openLink};
});
