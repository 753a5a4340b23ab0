/*
 * botdesk console behaviour. Loaded with `defer` after htmx.min.js and
 * sse.min.js; the CSP forbids inline scripts and inline event handlers
 * (hx-on:* and js: expressions need eval and will not run), so every
 * behaviour hangs off a data-* attribute handled here. Every page must work
 * without this file; it only enhances.
 *
 * Contract (attributes templates may use):
 *   <meta name="csrf-token" content="…">   sent as X-CSRF-Token on htmx requests
 *   [data-nav-toggle] (aria-controls=ID)   mobile menu button; toggles .is-open
 *   [data-dialog-open="ID"]                opens <dialog id=ID> with showModal()
 *   [data-dialog-close]                    closes the enclosing <dialog>
 *   <dialog data-autoopen>                 opened as soon as it is in the page
 *   <dialog data-remove-on-close>          removed from the DOM once closed
 *   <form data-close-on-success>           inside a dialog: close it after a
 *                                          successful (2xx) htmx request
 *   input[data-confirm-text="expected"]    keeps [data-confirm-submit] in the
 *                                          same form disabled until equal
 *   button[data-copy="text"]               copy text; or
 *   button[data-copy-target="#id"]         copy the value/text of #id
 *   textarea[name=keywords][data-chips]    becomes a keyword chip editor
 *       (data-chips-max=50, data-chips-maxlen=64 override the limits)
 *   [data-autoscroll]                      keeps a message log pinned to the
 *                                          bottom unless the user scrolled up
 *   time[datetime][data-relative]          text becomes "5 min ago"
 *   form[data-no-disable]                  opt out of double-submit guard
 *   [data-htmx-error]                      where htmx error messages appear
 *                                          (default: top of main.content)
 *   [data-error-message]                   in an error answer: the text shown
 *                                          for a failed htmx request
 *   hx-ext="wb-rows", hx-swap-oob="wbRow:#list"  live list rows (see below)
 * htmx requests: use hx-disabled-elt="find button[type=submit]" (native in
 * htmx 2) to disable buttons while a request is in flight. A 422 response is
 * swapped like a 2xx so handlers can re-render a form with its field errors.
 */
(function () {
  'use strict';

  var FOCUSABLE = [
    'input:not([type=hidden]):not([disabled])',
    'select:not([disabled])',
    'textarea:not([disabled])',
    'button:not([disabled])',
    'a[href]',
    '[tabindex]:not([tabindex="-1"])'
  ].join(',');

  document.documentElement.classList.add('js');

  function ready(fn) {
    if (document.readyState === 'loading') {
      document.addEventListener('DOMContentLoaded', fn);
    } else {
      fn();
    }
  }

  // querySelectorAll on root, including root itself when it matches.
  function all(root, selector) {
    var out = [];
    if (!root || !root.querySelectorAll) {
      return out;
    }
    if (root.matches && root.matches(selector)) {
      out.push(root);
    }
    out.push.apply(out, root.querySelectorAll(selector));
    return out;
  }

  /* ---------- Screen reader announcements ---------- */

  var liveRegion = null;
  var liveTimer = 0;

  function announce(text) {
    if (!liveRegion || !document.body.contains(liveRegion)) {
      liveRegion = document.createElement('div');
      liveRegion.className = 'sr-only';
      liveRegion.setAttribute('aria-live', 'polite');
      liveRegion.setAttribute('role', 'status');
      document.body.appendChild(liveRegion);
    }
    // Clear first so the same message twice is announced twice.
    liveRegion.textContent = '';
    window.clearTimeout(liveTimer);
    window.setTimeout(function () {
      liveRegion.textContent = text;
    }, 50);
    liveTimer = window.setTimeout(function () {
      liveRegion.textContent = '';
    }, 4000);
  }

  /* ---------- htmx configuration (CSP) ---------- */

  // Runs before htmx's own DOMContentLoaded setup, so a
  // <meta name="htmx-config"> can still override these.
  function configureHtmx() {
    if (!window.htmx) {
      return;
    }
    // htmx would inject an inline <style> for indicators: blocked by the
    // CSP, so app.css carries those rules instead.
    window.htmx.config.includeIndicatorStyles = false;
    // eval is blocked by the CSP anyway; fail quietly instead of raising
    // CSP violations.
    window.htmx.config.allowEval = false;
  }
  configureHtmx();

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute('content') : '';
  }

  document.addEventListener('htmx:configRequest', function (evt) {
    var token = csrfToken();
    if (token && evt.detail && evt.detail.headers) {
      evt.detail.headers['X-CSRF-Token'] = token;
    }
  });

  // Validation errors come back as 422 with the re-rendered form.
  document.addEventListener('htmx:beforeSwap', function (evt) {
    if (evt.detail.xhr && evt.detail.xhr.status === 422) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });

  function showRequestError(elt, text) {
    var host = document.querySelector('[data-htmx-error]');
    var flash = document.createElement('div');
    flash.className = 'flash flash-error';
    flash.setAttribute('role', 'alert');
    flash.setAttribute('data-htmx-error-message', '');
    flash.textContent = text;
    if (host) {
      host.replaceChildren(flash);
      return;
    }
    var content = document.querySelector('main.content, main') || document.body;
    var old = content.querySelector(':scope > [data-htmx-error-message]');
    if (old) {
      old.remove();
    }
    // Errors raised inside an open dialog are shown inside it, where the
    // user is looking (content behind a modal is inert).
    var dialog = elt && elt.closest ? elt.closest('dialog[open]') : null;
    if (dialog) {
      var body = dialog.querySelector('.modal-body') || dialog;
      var prev = body.querySelector(':scope > [data-htmx-error-message]');
      if (prev) {
        prev.remove();
      }
      body.prepend(flash);
      return;
    }
    content.prepend(flash);
  }

  // The server's own words reach the user: the message of its error page
  // ([data-error-message]) or of the API's JSON error. The texts by status
  // are only for answers that carry none (a proxy's page, an empty body).
  function serverMessage(xhr) {
    if (!xhr || !xhr.responseText) {
      return '';
    }
    var type = xhr.getResponseHeader('Content-Type') || '';
    try {
      if (type.indexOf('json') >= 0) {
        var body = JSON.parse(xhr.responseText);
        return (body && body.error && body.error.message) || '';
      }
      if (type.indexOf('html') >= 0) {
        // DOMParser runs no scripts and loads nothing.
        var doc = new DOMParser().parseFromString(xhr.responseText, 'text/html');
        var el = doc.querySelector('[data-error-message]');
        return el ? el.textContent.trim() : '';
      }
    } catch (e) {
      return '';
    }
    return '';
  }

  function fallbackMessage(status) {
    if (status === 401) {
      return 'Your session has ended. Please sign in again.';
    } else if (status === 403) {
      return 'You do not have permission to do that, or the page expired. Reload the page and try again.';
    } else if (status === 404) {
      return 'That item no longer exists. Reload the page.';
    } else if (status === 409) {
      return 'That conflicts with a change made elsewhere. Reload the page and try again.';
    } else if (status >= 500) {
      return 'Something went wrong on the server (error ' + status + '). Please try again.';
    }
    return 'The request failed. Please try again.';
  }

  document.addEventListener('htmx:responseError', function (evt) {
    var xhr = evt.detail.xhr;
    showRequestError(evt.detail.elt, serverMessage(xhr) || fallbackMessage(xhr ? xhr.status : 0));
  });

  document.addEventListener('htmx:sendError', function (evt) {
    showRequestError(evt.detail.elt, 'Could not reach the server. Check your connection and try again.');
  });

  /* ---------- Mobile navigation ---------- */

  function navTarget(button) {
    var id = button.getAttribute('aria-controls');
    if (id) {
      return document.getElementById(id);
    }
    var sidebar = button.closest('.sidebar');
    return sidebar ? sidebar.querySelector('.nav') : null;
  }

  function setNav(button, open) {
    var nav = navTarget(button);
    button.setAttribute('aria-expanded', open ? 'true' : 'false');
    if (nav) {
      nav.classList.toggle('is-open', open);
    }
  }

  document.addEventListener('click', function (evt) {
    var button = evt.target.closest('[data-nav-toggle]');
    if (button) {
      setNav(button, button.getAttribute('aria-expanded') !== 'true');
    }
  });

  document.addEventListener('keydown', function (evt) {
    if (evt.key !== 'Escape') {
      return;
    }
    var open = document.querySelector('[data-nav-toggle][aria-expanded="true"]');
    var nav = open && navTarget(open);
    if (open && nav && nav.contains(document.activeElement)) {
      setNav(open, false);
      open.focus();
    }
  });

  function initNavToggles(root) {
    all(root, '[data-nav-toggle]').forEach(function (button) {
      if (!button.hasAttribute('aria-expanded')) {
        button.setAttribute('aria-expanded', 'false');
      }
    });
  }

  /* ---------- Dialogs ---------- */

  var openers = new WeakMap();

  function focusFirst(dialog) {
    var target = dialog.querySelector('[autofocus]');
    if (!target) {
      var body = dialog.querySelector('.modal-body') || dialog;
      target = body.querySelector(FOCUSABLE) || dialog.querySelector(FOCUSABLE);
    }
    if (target) {
      target.focus();
    }
  }

  function openDialog(dialog, opener) {
    if (!dialog || dialog.open || typeof dialog.showModal !== 'function') {
      return;
    }
    openers.set(dialog, opener || document.activeElement);
    initConfirms(dialog);
    dialog.showModal();
    focusFirst(dialog);
  }

  document.addEventListener('click', function (evt) {
    var opener = evt.target.closest('[data-dialog-open]');
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute('data-dialog-open'));
      if (dialog && dialog.tagName === 'DIALOG') {
        // Openers may be links to a no-JS confirmation page.
        evt.preventDefault();
        openDialog(dialog, opener);
      }
      return;
    }
    var closer = evt.target.closest('[data-dialog-close]');
    if (closer) {
      var parent = closer.closest('dialog');
      if (parent) {
        evt.preventDefault();
        parent.close(closer.value || '');
      }
    }
  });

  // The close event does not bubble; capture catches every dialog.
  document.addEventListener('close', function (evt) {
    var dialog = evt.target;
    if (!(dialog instanceof HTMLDialogElement)) {
      return;
    }
    resetConfirms(dialog);
    var opener = openers.get(dialog);
    openers.delete(dialog);
    if (dialog.hasAttribute('data-remove-on-close')) {
      dialog.remove();
    }
    if (opener && opener.isConnected && typeof opener.focus === 'function') {
      opener.focus();
    } else {
      var main = document.querySelector('main');
      if (main) {
        if (!main.hasAttribute('tabindex')) {
          main.setAttribute('tabindex', '-1');
        }
        main.focus();
      }
    }
  }, true);

  function initAutoOpen(root) {
    all(root, 'dialog[data-autoopen]').forEach(function (dialog) {
      if (!dialog.open && !dialog.hasAttribute('data-autoopened')) {
        dialog.setAttribute('data-autoopened', '');
        openDialog(dialog, document.activeElement);
      }
    });
  }

  document.addEventListener('htmx:afterRequest', function (evt) {
    var form = evt.detail.elt && evt.detail.elt.closest
      ? evt.detail.elt.closest('form[data-close-on-success]') : null;
    // Not evt.detail.successful: the 422 handling above clears isError so
    // the form with its errors is swapped in, which makes htmx report the
    // request as successful; the dialog must stay open to show the errors.
    var status = evt.detail.xhr ? evt.detail.xhr.status : 0;
    if (form && status >= 200 && status < 300) {
      var dialog = form.closest('dialog');
      if (dialog && dialog.open) {
        dialog.close();
      }
    }
  });

  /* ---------- Typed confirmation ---------- */

  function confirmScope(input) {
    return input.closest('form') || input.closest('dialog') || document;
  }

  function updateConfirm(input) {
    var ok = input.value === input.getAttribute('data-confirm-text');
    confirmScope(input).querySelectorAll('[data-confirm-submit]').forEach(function (btn) {
      btn.disabled = !ok;
    });
  }

  function initConfirms(root) {
    all(root, 'input[data-confirm-text]').forEach(updateConfirm);
  }

  function resetConfirms(root) {
    all(root, 'input[data-confirm-text]').forEach(function (input) {
      input.value = '';
      updateConfirm(input);
    });
  }

  document.addEventListener('input', function (evt) {
    if (evt.target.matches && evt.target.matches('input[data-confirm-text]')) {
      updateConfirm(evt.target);
    }
  });

  // Guard against Enter in the field submitting a mismatched value.
  document.addEventListener('submit', function (evt) {
    var input = evt.target.querySelector('input[data-confirm-text]');
    if (input && input.value !== input.getAttribute('data-confirm-text')) {
      evt.preventDefault();
      evt.stopImmediatePropagation();
      input.focus();
    }
  }, true);

  /* ---------- Copy buttons ---------- */

  function copyText(button) {
    if (button.hasAttribute('data-copy')) {
      return button.getAttribute('data-copy');
    }
    var target = document.querySelector(button.getAttribute('data-copy-target'));
    if (!target) {
      return '';
    }
    return 'value' in target && typeof target.value === 'string' ? target.value : target.textContent.trim();
  }

  function legacyCopy(text) {
    var area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.className = 'sr-only';
    // Inside an open modal only the dialog is focusable.
    var host = document.activeElement && document.activeElement.closest
      ? document.activeElement.closest('dialog[open]') || document.body : document.body;
    var previous = document.activeElement;
    host.appendChild(area);
    area.select();
    var ok = false;
    try {
      ok = document.execCommand('copy');
    } catch (e) {
      ok = false;
    }
    area.remove();
    if (previous && previous.focus) {
      previous.focus();
    }
    return ok;
  }

  function writeClipboard(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(function () {
        return true;
      }, function () {
        return legacyCopy(text);
      });
    }
    return Promise.resolve(legacyCopy(text));
  }

  var copyTimers = new WeakMap();

  function copyFeedback(button, ok) {
    var label = button.querySelector('[data-copy-label]') || button;
    if (!copyTimers.has(button)) {
      button.setAttribute('data-copy-original', label.textContent);
    } else {
      window.clearTimeout(copyTimers.get(button));
    }
    label.textContent = ok ? 'Copied' : 'Copy failed';
    announce(ok ? 'Copied to clipboard' : 'Copy failed. Select the text and press Control+C.');
    copyTimers.set(button, window.setTimeout(function () {
      label.textContent = button.getAttribute('data-copy-original');
      button.removeAttribute('data-copy-original');
      copyTimers.delete(button);
    }, 2000));
  }

  document.addEventListener('click', function (evt) {
    var button = evt.target.closest('[data-copy],[data-copy-target]');
    if (!button) {
      return;
    }
    evt.preventDefault();
    var text = copyText(button);
    if (!text) {
      copyFeedback(button, false);
      return;
    }
    writeClipboard(text).then(function (ok) {
      copyFeedback(button, ok);
    });
  });

  /* ---------- Keyword chips editor ---------- */

  var chipSeq = 0;

  function initChips(root) {
    all(root, 'textarea[data-chips]').forEach(function (area) {
      if (!area.hasAttribute('data-chips-ready')) {
        area.setAttribute('data-chips-ready', '');
        buildChips(area);
      }
    });
  }

  function buildChips(area) {
    var maxCount = parseInt(area.getAttribute('data-chips-max'), 10) || 50;
    var maxLen = parseInt(area.getAttribute('data-chips-maxlen'), 10) || 64;
    var uid = 'chips-' + (++chipSeq);
    var keywords = [];

    var editor = document.createElement('div');
    editor.className = 'chips-editor';

    var list = document.createElement('ul');
    list.className = 'chips';
    list.setAttribute('aria-label', 'Keywords');

    var input = document.createElement('input');
    input.type = 'text';
    input.className = 'chips-input';
    input.setAttribute('autocomplete', 'off');
    input.setAttribute('enterkeyhint', 'enter');
    input.placeholder = area.getAttribute('placeholder') || 'Type a keyword and press Enter';
    input.disabled = area.disabled;

    var hidden = document.createElement('input');
    hidden.type = 'hidden';
    hidden.name = area.name || 'keywords';

    var count = document.createElement('p');
    count.className = 'chips-count';
    count.id = uid + '-count';

    var message = document.createElement('p');
    message.className = 'field-error';
    message.id = uid + '-error';
    message.setAttribute('aria-live', 'polite');

    // The visible label now belongs to the text input.
    if (area.id) {
      input.id = area.id;
      area.id = area.id + '-source';
    } else {
      input.id = uid + '-input';
    }
    var described = [area.getAttribute('aria-describedby'), count.id, message.id]
      .filter(Boolean).join(' ');
    input.setAttribute('aria-describedby', described);

    editor.append(list, input);
    area.after(editor, count, message, hidden);
    area.hidden = true;
    // Keep the source out of the submission: the hidden input carries it.
    area.disabled = true;
    area.removeAttribute('name');

    function key(word) {
      return word.toLowerCase();
    }

    function sync() {
      hidden.value = keywords.join('\n');
      count.textContent = keywords.length + ' of ' + maxCount + ' keywords';
      list.hidden = keywords.length === 0;
    }

    function showError(text) {
      message.textContent = text;
      input.setAttribute('aria-invalid', text ? 'true' : 'false');
    }

    function render() {
      list.replaceChildren();
      keywords.forEach(function (word, i) {
        var li = document.createElement('li');
        li.className = 'chip';
        var span = document.createElement('span');
        span.textContent = word;
        li.appendChild(span);
        if (!input.disabled) {
          var remove = document.createElement('button');
          remove.type = 'button';
          remove.className = 'chip-remove';
          remove.setAttribute('aria-label', 'Remove keyword ' + word);
          remove.setAttribute('data-index', String(i));
          remove.textContent = '\u00d7';
          li.appendChild(remove);
        }
        list.appendChild(li);
      });
      sync();
    }

    // add returns an error message, or '' when the word was added/ignored.
    function add(raw) {
      var word = raw.trim();
      if (!word) {
        return '';
      }
      if (Array.from(word).length > maxLen) {
        return 'Keywords can be at most ' + maxLen + ' characters.';
      }
      var k = key(word);
      if (keywords.some(function (w) { return key(w) === k; })) {
        return '"' + word + '" is already in the list.';
      }
      if (keywords.length >= maxCount) {
        return 'You can add at most ' + maxCount + ' keywords.';
      }
      keywords.push(word);
      return '';
    }

    function addMany(text) {
      var errors = [];
      var before = keywords.length;
      text.split(/[\n,]/).forEach(function (part) {
        var err = add(part);
        if (err && errors.indexOf(err) < 0) {
          errors.push(err);
        }
      });
      if (keywords.length !== before) {
        render();
        announce(keywords.length - before === 1
          ? 'Added keyword ' + keywords[keywords.length - 1]
          : 'Added ' + (keywords.length - before) + ' keywords');
      }
      showError(errors.join(' '));
      return errors.length === 0;
    }

    function removeAt(i) {
      var word = keywords[i];
      keywords.splice(i, 1);
      render();
      showError('');
      announce('Removed keyword ' + word);
      var next = list.querySelectorAll('.chip-remove')[Math.min(i, keywords.length - 1)];
      (next || input).focus();
    }

    // Start from the textarea's lines; duplicates and overflow are dropped
    // silently here because the server already accepted them.
    area.value.split('\n').forEach(function (line) {
      add(line);
    });
    render();

    input.addEventListener('keydown', function (evt) {
      if (evt.isComposing) {
        return;
      }
      if (evt.key === 'Enter' || evt.key === ',') {
        evt.preventDefault();
        if (addMany(input.value)) {
          input.value = '';
        }
      } else if (evt.key === 'Backspace' && input.value === '' && keywords.length) {
        removeAt(keywords.length - 1);
      }
    });

    input.addEventListener('input', function () {
      // Pasted text with separators becomes several chips at once.
      if (/[\n,]/.test(input.value)) {
        var parts = input.value.split(/[\n,]/);
        var tail = parts.pop();
        if (addMany(parts.join('\n'))) {
          input.value = tail;
        }
      } else if (message.textContent) {
        showError('');
      }
    });

    list.addEventListener('click', function (evt) {
      var remove = evt.target.closest('.chip-remove');
      if (remove) {
        removeAt(parseInt(remove.getAttribute('data-index'), 10));
      }
    });

    // A keyword still in the box when the form is saved is meant to count.
    var form = area.form || editor.closest('form');
    if (form) {
      form.addEventListener('submit', function (evt) {
        if (input.value.trim() === '') {
          return;
        }
        if (addMany(input.value)) {
          input.value = '';
        } else {
          evt.preventDefault();
          evt.stopImmediatePropagation();
          input.focus();
        }
      }, true);
    }
  }

  /* ---------- Double-submit guard for plain forms ---------- */

  document.addEventListener('submit', function (evt) {
    var form = evt.target;
    // htmx cancels the native submit of forms it handles; dialog forms
    // only close the dialog.
    if (evt.defaultPrevented || form.method === 'dialog' || form.hasAttribute('data-no-disable')) {
      return;
    }
    var buttons = form.querySelectorAll('button:not([type]), button[type=submit], input[type=submit]');
    if (form.id) {
      buttons = Array.prototype.concat.apply(Array.from(buttons),
        [Array.from(document.querySelectorAll('[form="' + CSS.escape(form.id) + '"][type=submit]'))]);
    }
    form.classList.add('is-submitting');
    form.setAttribute('aria-busy', 'true');
    // Disable after the submission's form data (including the submitter's
    // name/value) has been built.
    window.setTimeout(function () {
      Array.prototype.forEach.call(buttons, function (b) {
        b.disabled = true;
        b.setAttribute('data-submit-disabled', '');
      });
    }, 0);
  });

  // Back/forward cache would otherwise restore the disabled buttons.
  window.addEventListener('pageshow', function (evt) {
    if (!evt.persisted) {
      return;
    }
    document.querySelectorAll('[data-submit-disabled]').forEach(function (b) {
      b.disabled = false;
      b.removeAttribute('data-submit-disabled');
    });
    document.querySelectorAll('form.is-submitting').forEach(function (f) {
      f.classList.remove('is-submitting');
      f.removeAttribute('aria-busy');
    });
  });

  /* ---------- Workbench auto-scroll ---------- */

  var pinned = new WeakMap();
  var STICK_PX = 48;

  function atBottom(el) {
    return el.scrollHeight - el.scrollTop - el.clientHeight < STICK_PX;
  }

  function toBottom(el) {
    el.scrollTop = el.scrollHeight;
  }

  function initAutoscroll(root) {
    all(root, '[data-autoscroll]').forEach(function (el) {
      if (pinned.has(el)) {
        return;
      }
      pinned.set(el, true);
      toBottom(el);
      el.addEventListener('scroll', function () {
        pinned.set(el, atBottom(el));
      }, { passive: true });
      // Catches every way new messages arrive: SSE swaps, htmx swaps,
      // out-of-band swaps.
      new MutationObserver(function () {
        if (pinned.get(el)) {
          toBottom(el);
        }
      }).observe(el, { childList: true, subtree: true });
    });
  }

  function repin() {
    document.querySelectorAll('[data-autoscroll]').forEach(function (el) {
      if (pinned.get(el)) {
        toBottom(el);
      }
    });
  }
  document.addEventListener('htmx:sseMessage', repin);

  // A new EventSource (after the browser closed the old one outright) starts
  // without Last-Event-ID, so the server may resend messages already shown:
  // drop a "msg" event whose bubble is on the page. Event ids are
  // "<message id>-<list position>".
  document.addEventListener('htmx:sseBeforeMessage', function (evt) {
    var e = evt.detail;
    if (!e || e.type !== 'msg' || !e.lastEventId) {
      return;
    }
    var id = String(e.lastEventId).split('-')[0];
    if (document.querySelector('[data-msg-id="' + CSS.escape(id) + '"]')) {
      evt.preventDefault();
    }
  });
  document.addEventListener('htmx:afterSettle', repin);

  /* ---------- Workbench list: live rows ---------- */

  // The stream's "rows" event (and the "Load more" answer) carries list
  // rows as out-of-band swaps with the style wbRow, an htmx extension
  // enabled by hx-ext="wb-rows" on the workbench (views.ConversationRow,
  // RowRemoved). Each row replaces its old copy wherever that is and goes
  // right below the row of conversation data-wb-after (0: at the top). When
  // that row is not on the page, the changed one belongs to a page not
  // loaded yet ("Load more" brings it) and is dropped; data-wb-remove only
  // takes the old copy out. The server decides every place, so rows loaded
  // with "Load more" stay and nothing is diffed here.
  function placeRow(list, row) {
    var old = document.getElementById(row.id);
    if (old) {
      old.remove();
    }
    if (row.hasAttribute('data-wb-remove')) {
      return false;
    }
    var after = row.getAttribute('data-wb-after');
    row.removeAttribute('data-wb-after');
    if (after === '0') {
      list.prepend(row);
    } else {
      var anchor = document.getElementById('wb-row-' + after);
      if (!anchor || anchor.parentNode !== list) {
        return false;
      }
      anchor.after(row);
    }
    var empty = document.getElementById('wb-list-empty');
    if (empty) {
      empty.remove();
    }
    // The same update goes to every agent: the row of the conversation
    // open here is marked here.
    var pane = document.querySelector('.wb-view[data-conv-id]');
    var link = row.querySelector('a[data-conv-id]');
    if (pane && link && link.getAttribute('data-conv-id') === pane.getAttribute('data-conv-id')) {
      link.setAttribute('aria-current', 'true');
    }
    return true;
  }

  if (window.htmx) {
    window.htmx.defineExtension('wb-rows', {
      isInlineSwap: function (style) {
        return style === 'wbRow';
      },
      handleSwap: function (style, target, fragment) {
        if (style !== 'wbRow') {
          return false;
        }
        // An array (even empty) tells htmx the swap is done; the rows in
        // it are processed (hx-get) and get htmx:load (relative times).
        var row = fragment.firstElementChild;
        return row && row.id && placeRow(target, row) ? [row] : [];
      }
    });
  }

  /* ---------- Relative times ---------- */

  var rtf = window.Intl && Intl.RelativeTimeFormat
    ? new Intl.RelativeTimeFormat(undefined, { numeric: 'auto', style: 'short' }) : null;

  function relative(date) {
    var secs = Math.round((date.getTime() - Date.now()) / 1000);
    var abs = Math.abs(secs);
    if (abs < 45) {
      return 'just now';
    }
    var units = [['minute', 60], ['hour', 3600], ['day', 86400], ['week', 604800]];
    for (var i = units.length - 1; i >= 0; i--) {
      if (abs >= units[i][1] * 0.75 || i === 0) {
        if (i === units.length - 1 && abs > 4 * 604800) {
          return date.toLocaleDateString();
        }
        return rtf.format(Math.round(secs / units[i][1]), units[i][0]);
      }
    }
    return '';
  }

  function updateTimes(root) {
    if (!rtf) {
      return;
    }
    all(root, 'time[datetime][data-relative]').forEach(function (t) {
      var date = new Date(t.getAttribute('datetime'));
      if (isNaN(date.getTime())) {
        return;
      }
      if (!t.title) {
        t.title = date.toLocaleString();
      }
      t.textContent = relative(date);
    });
  }

  /* ---------- Wiring ---------- */

  function init(root) {
    initNavToggles(root);
    initChips(root);
    initConfirms(root);
    initAutoscroll(root);
    updateTimes(root);
    initAutoOpen(root);
  }

  ready(function () {
    init(document.body);
    window.setInterval(function () {
      updateTimes(document.body);
    }, 60000);
  });

  // htmx:load fires for every piece of content htmx adds (and the body).
  document.addEventListener('htmx:load', function (evt) {
    init(evt.detail && evt.detail.elt ? evt.detail.elt : evt.target);
  });
})();
