// botdesk — what asks for the agent's attention (issue 16):
//   * the unread total: the server renders it beside "Workbench"
//     (#nav-unread, views.UnreadTotal) and live list updates swap it; the
//     page title follows it as "(3) Workbench · botdesk".
// No inline script or style (CSP).
(function () {
  'use strict';

  var prefix = /^\(\d+\) /;

  function syncTitle() {
    var badge = document.getElementById('nav-unread');
    if (!badge) {
      return;
    }
    var n = parseInt(badge.getAttribute('data-unread'), 10) || 0;
    var base = document.title.replace(prefix, '');
    document.title = n > 0 ? '(' + n + ') ' + base : base;
  }

  document.addEventListener('htmx:oobAfterSwap', function (evt) {
    if (evt.target && evt.target.id === 'nav-unread') {
      syncTitle();
    }
  });
  // A page swapped in by htmx may bring a title of its own.
  document.addEventListener('htmx:afterSettle', syncTitle);
})();
