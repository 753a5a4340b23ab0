// botdesk — what asks for the agent's attention (issue 16):
//   * the unread total: the server renders it beside "Workbench"
//     (#nav-unread, views.UnreadTotal) and live list updates swap it; the
//     page title follows it as "(3) Workbench · botdesk";
//   * message notifications: when the user turned them on (account page),
//     live updates carry the new messages of conversations assigned to
//     them or to nobody (#wb-notify, views.MessageNotify); while the tab
//     is hidden each becomes a browser notification, with a short sound.
//     Permission is asked only when the user clicks the account page's
//     button.
// No inline script or style (CSP); server text is only used as text.
(function () {
  'use strict';

  /* ---------- Unread total in the title ---------- */

  var prefix = /^\(\d+\) /;

  function syncTitle() {
    var badge = document.getElementById('nav-unread');
    if (!badge) {
      return;
    }
    var n = parseInt(badge.getAttribute('data-unread'), 10) || 0;
    var base = document.title.replace(prefix, '');
    var want = n > 0 ? '(' + n + ') ' + base : base;
    if (document.title !== want) {
      document.title = want;
    }
  }

  // The badge is replaced whole by the live swap: watch the navigation.
  function watchNav() {
    var nav = document.getElementById('main-nav');
    if (nav && typeof MutationObserver === 'function') {
      new MutationObserver(syncTitle).observe(nav, { childList: true, subtree: true, attributes: true });
    }
    syncTitle();
  }
  // A page swapped in by htmx may bring a title of its own.
  document.addEventListener('htmx:afterSettle', syncTitle);

  /* ---------- Message notifications ---------- */

  var supported = typeof window.Notification === 'function';

  function showState() {
    var el = document.querySelector('[data-notify-state]');
    if (!el) {
      return;
    }
    var state = supported ? window.Notification.permission : 'unsupported';
    el.textContent = el.getAttribute('data-' + state) || '';
  }

  document.addEventListener('click', function (evt) {
    var btn = evt.target.closest && evt.target.closest('[data-notify-permission]');
    if (!btn) {
      return;
    }
    if (!supported) {
      showState();
      return;
    }
    // Asked on this click only, never on its own.
    var asked = window.Notification.requestPermission(showState);
    if (asked && typeof asked.then === 'function') {
      asked.then(showState);
    }
  });

  var sound = null;

  function chime(src) {
    if (!src) {
      return;
    }
    if (!sound) {
      sound = new Audio(src);
    }
    sound.currentTime = 0;
    var played = sound.play();
    if (played && typeof played.catch === 'function') {
      played.catch(function () { /* the browser refused autoplay */ });
    }
  }

  function notify(box) {
    if (!box.hasAttribute('data-notify-on') || !document.hidden || !supported || window.Notification.permission !== 'granted') {
      return;
    }
    var items = box.querySelectorAll('[data-notify-title]');
    if (items.length === 0) {
      return;
    }
    Array.prototype.forEach.call(items, function (it) {
      var n = new window.Notification(it.getAttribute('data-notify-title'), {
        body: it.getAttribute('data-notify-body') || '',
        tag: it.getAttribute('data-notify-tag') || undefined
      });
      var href = it.getAttribute('data-notify-href');
      n.onclick = function () {
        window.focus();
        if (href && href.charAt(0) === '/') {
          window.location.assign(href);
        }
        n.close();
      };
    });
    chime(box.getAttribute('data-notify-sound'));
  }

  document.addEventListener('htmx:oobAfterSwap', function (evt) {
    if (evt.target && evt.target.id === 'wb-notify') {
      notify(evt.target);
    }
  });

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', function () { watchNav(); showState(); });
  } else {
    watchNav();
    showState();
  }
})();
