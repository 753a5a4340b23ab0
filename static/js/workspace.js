// botdesk — the agent's workspace in the browser (issue 16):
//   * the reply box's "/" list of canned responses (filtered, keyboard
//     navigable, choosing inserts the filled text);
//   * dropping a live "note" event whose note is already on the page;
//   * workbench keyboard shortcuts: j/k next/previous conversation, r reply,
//     e resolve, a assign to me, / canned responses, ? the list of shortcuts.
//     None fires while typing in a field.
// No inline script or style (CSP); server HTML is only ever inserted as
// htmx would insert it, user text only as text.
(function () {
  'use strict';

  /* ---------- Canned responses picker ---------- */

  // The "/query" being typed right before the caret, or null.
  function slashQuery(area) {
    var before = area.value.slice(0, area.selectionStart);
    var m = /(^|\s)\/([a-z0-9_-]*)$/i.exec(before);
    if (!m) {
      return null;
    }
    return { start: before.length - m[2].length - 1, query: m[2].toLowerCase() };
  }

  function pickerOf(area) {
    var id = area.getAttribute('aria-controls');
    return id ? document.getElementById(id) : null;
  }

  function options(list) {
    return Array.prototype.filter.call(list.querySelectorAll('[role=option]'), function (o) { return !o.hidden; });
  }

  function closePicker(area) {
    var list = pickerOf(area);
    if (list) {
      list.hidden = true;
    }
    area.removeAttribute('aria-activedescendant');
    area.removeAttribute('data-canned-open');
  }

  function select(area, opt) {
    var list = pickerOf(area);
    Array.prototype.forEach.call(list.querySelectorAll('[role=option]'), function (o) {
      o.setAttribute('aria-selected', o === opt ? 'true' : 'false');
    });
    if (opt) {
      area.setAttribute('aria-activedescendant', opt.id);
      opt.scrollIntoView({ block: 'nearest' });
    } else {
      area.removeAttribute('aria-activedescendant');
    }
  }

  function filter(area, q) {
    var list = pickerOf(area);
    var first = null;
    Array.prototype.forEach.call(list.querySelectorAll('[role=option]'), function (o) {
      var key = o.getAttribute('data-shortcut') || '';
      var show = q.query === '' || key.indexOf(q.query) === 0 || (o.getAttribute('data-fill') || '').toLowerCase().indexOf(q.query) >= 0;
      o.hidden = !show;
      if (show && !first) {
        first = o;
      }
    });
    var empty = list.querySelector('.canned-empty');
    if (empty) {
      empty.hidden = !!first;
    }
    select(area, first);
  }

  // Loads the conversation's options (their variables filled in by the
  // server) each time the list opens, so edits by operators show at once.
  function openPicker(area, q) {
    var list = pickerOf(area);
    if (!list) {
      return;
    }
    area.setAttribute('data-canned-open', 'loading');
    fetch(area.getAttribute('data-canned-src'), { credentials: 'same-origin', headers: { 'HX-Request': 'true' } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(new Error('HTTP ' + r.status)); })
      .then(function (html) {
        if (!area.hasAttribute('data-canned-open')) {
          return;
        }
        var tpl = document.createElement('template');
        tpl.innerHTML = html; // server-rendered, escaped by templ
        list.replaceChildren(tpl.content);
        list.hidden = false;
        area.setAttribute('data-canned-open', 'open');
        filter(area, slashQuery(area) || q);
      })
      .catch(function () { closePicker(area); });
  }

  function choose(area, opt) {
    var q = slashQuery(area);
    if (!opt || !q) {
      closePicker(area);
      return;
    }
    var fill = opt.getAttribute('data-fill') || '';
    var end = area.selectionStart;
    area.value = area.value.slice(0, q.start) + fill + area.value.slice(end);
    var caret = q.start + fill.length;
    area.setSelectionRange(caret, caret);
    closePicker(area);
    area.focus();
    area.dispatchEvent(new Event('input', { bubbles: true }));
  }

  document.addEventListener('input', function (evt) {
    var area = evt.target;
    if (!(area instanceof HTMLTextAreaElement) || !area.hasAttribute('data-canned-src')) {
      return;
    }
    var q = slashQuery(area);
    if (!q) {
      closePicker(area);
    } else if (!area.hasAttribute('data-canned-open')) {
      openPicker(area, q);
    } else if (area.getAttribute('data-canned-open') === 'open') {
      filter(area, q);
    }
  });

  document.addEventListener('keydown', function (evt) {
    var area = evt.target;
    if (!(area instanceof HTMLTextAreaElement) || area.getAttribute('data-canned-open') !== 'open') {
      return;
    }
    var list = pickerOf(area);
    var opts = options(list);
    var cur = list.querySelector('[aria-selected=true]');
    var i = opts.indexOf(cur);
    switch (evt.key) {
      case 'ArrowDown':
        evt.preventDefault();
        select(area, opts[(i + 1) % opts.length] || null);
        break;
      case 'ArrowUp':
        evt.preventDefault();
        select(area, opts[(i - 1 + opts.length) % opts.length] || null);
        break;
      case 'Enter':
      case 'Tab':
        if (cur && !cur.hidden) {
          evt.preventDefault();
          choose(area, cur);
        }
        break;
      case 'Escape':
        evt.preventDefault();
        evt.stopPropagation();
        closePicker(area);
        break;
    }
  });

  document.addEventListener('mousedown', function (evt) {
    var opt = evt.target.closest && evt.target.closest('.canned-list [role=option]');
    if (!opt) {
      return;
    }
    evt.preventDefault(); // keep the focus (and caret) in the textarea
    var area = document.querySelector('textarea[aria-controls="' + opt.parentElement.id + '"]');
    if (area) {
      choose(area, opt);
    }
  });

  document.addEventListener('focusout', function (evt) {
    if (evt.target instanceof HTMLTextAreaElement && evt.target.hasAttribute('data-canned-open')) {
      closePicker(evt.target);
    }
  });

  /* ---------- Live notes: no duplicates after a reconnect ---------- */

  document.addEventListener('htmx:sseBeforeMessage', function (evt) {
    var e = evt.detail;
    if (!e || e.type !== 'note') {
      return;
    }
    var m = /data-note-id="(\d+)"/.exec(e.data || '');
    if (m && document.getElementById('note-' + m[1])) {
      evt.preventDefault();
    }
  });

  /* ---------- Keyboard shortcuts ---------- */

  function typing(el) {
    if (!el || el === document.body) {
      return false;
    }
    var tag = el.tagName;
    return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || el.isContentEditable;
  }

  // The "?" dialog is rendered with the page (views/shortcuts.templ), in
  // the console's language.
  function helpDialog() {
    return document.getElementById('kbd-help');
  }

  function moveConversation(step) {
    var items = Array.prototype.slice.call(document.querySelectorAll('#wb-list-items .wb-item'));
    if (items.length === 0) {
      return;
    }
    var cur = items.findIndex(function (a) { return a.getAttribute('aria-current') === 'true'; });
    var next = cur < 0 ? (step > 0 ? 0 : items.length - 1) : cur + step;
    if (next < 0 || next >= items.length) {
      return;
    }
    items[next].focus();
    items[next].click();
  }

  function clickIf(sel) {
    var b = document.querySelector(sel);
    if (b && !b.disabled) {
      b.click();
    }
  }

  document.addEventListener('keydown', function (evt) {
    if (evt.defaultPrevented || evt.ctrlKey || evt.metaKey || evt.altKey || typing(evt.target) ||
        document.querySelector('dialog[open]') || !document.getElementById('wb')) {
      return;
    }
    var reply = document.getElementById('wb-reply-text');
    switch (evt.key) {
      case 'j':
        moveConversation(1);
        break;
      case 'k':
        moveConversation(-1);
        break;
      case 'r':
        if (!reply) {
          return;
        }
        reply.focus();
        break;
      case 'e':
        clickIf('[data-testid=conv-resolve]');
        break;
      case 'a':
        clickIf('[data-testid=conv-assign]');
        break;
      case '/':
        if (!reply) {
          return;
        }
        reply.focus();
        var at = reply.value.length;
        var pre = at > 0 && !/\s$/.test(reply.value) ? ' /' : '/';
        reply.value += pre;
        reply.setSelectionRange(reply.value.length, reply.value.length);
        reply.dispatchEvent(new Event('input', { bubbles: true }));
        break;
      case '?':
        var d = helpDialog();
        if (d && typeof d.showModal === 'function') {
          d.showModal();
          d.querySelector('button').focus();
        }
        break;
      default:
        return;
    }
    evt.preventDefault();
  });
})();
