// The hosted connect page's last step (service/api/link_route.h). The page
// carries its answer in a JSON block: the message for the window that opened
// it, the origin that window must have, and where to go without one. The
// message goes to that exact origin only; without an opener the browser goes
// on to the SaaS's return URL, as the page's link does without JavaScript.
(function () {
  'use strict';
  var block = document.getElementById('link-result');
  if (!block) return;
  var result;
  try {
    result = JSON.parse(block.textContent);
  } catch (e) {
    return;
  }
  if (window.opener && !window.opener.closed && result.mode === 'popup') {
    window.opener.postMessage(result.message, result.origin);
    window.close();
    return;
  }
  if (result.redirect) window.location.replace(result.redirect);
})();
