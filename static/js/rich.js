/*
 * Rich messages in the workbench (issue 17). Loaded with `defer` after
 * app.js; like it, it only enhances pages that work without it, and hangs
 * off data-* attributes (the CSP forbids inline script):
 *
 *   form[data-dropzone]       files dropped on the form go into its
 *                             input[type=file]; [data-file-name] inside
 *                             the form shows the chosen file
 *   form[data-typing-url]     while the textarea is being typed in, POSTs
 *                             to the URL at most every 5 s (Telegram's
 *                             "typing…" lasts 5 s)
 */
(function () {
  'use strict';

  var TYPING_EVERY_MS = 5000;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute('content') : '';
  }

  function showFile(form, input) {
    var label = form.querySelector('[data-file-name]');
    if (!label) {
      return;
    }
    if (!label.hasAttribute('data-hint')) {
      label.setAttribute('data-hint', label.textContent);
    }
    var f = input.files && input.files[0];
    label.textContent = f ? 'Attached: ' + f.name + ' (' + Math.max(1, Math.round(f.size / 1024)) + ' KB)' : label.getAttribute('data-hint');
  }

  function initDropzone(form) {
    if (form.hasAttribute('data-dropzone-ready')) {
      return;
    }
    form.setAttribute('data-dropzone-ready', '');
    var input = form.querySelector('input[type=file]');
    if (!input) {
      return;
    }
    input.addEventListener('change', function () {
      showFile(form, input);
    });
    form.addEventListener('dragover', function (evt) {
      if (evt.dataTransfer && Array.prototype.indexOf.call(evt.dataTransfer.types || [], 'Files') >= 0) {
        evt.preventDefault();
        form.classList.add('is-dragover');
      }
    });
    form.addEventListener('dragleave', function () {
      form.classList.remove('is-dragover');
    });
    form.addEventListener('drop', function (evt) {
      form.classList.remove('is-dragover');
      if (!evt.dataTransfer || !evt.dataTransfer.files || evt.dataTransfer.files.length === 0) {
        return;
      }
      evt.preventDefault();
      input.files = evt.dataTransfer.files;
      showFile(form, input);
    });
  }

  function initTyping(form) {
    if (form.hasAttribute('data-typing-ready')) {
      return;
    }
    form.setAttribute('data-typing-ready', '');
    var url = form.getAttribute('data-typing-url');
    var box = form.querySelector('textarea');
    var last = 0;
    if (!url || !box) {
      return;
    }
    box.addEventListener('input', function () {
      var now = Date.now();
      if (box.value.trim() === '' || now - last < TYPING_EVERY_MS) {
        return;
      }
      last = now;
      var body = new FormData();
      body.append('csrf_token', csrfToken());
      window.fetch(url, {method: 'POST', body: body, credentials: 'same-origin', headers: {'X-CSRF-Token': csrfToken()}})
        .catch(function () { /* best effort: typing is a courtesy */ });
    });
  }

  function init(root) {
    if (!root || !root.querySelectorAll) {
      return;
    }
    var forms = Array.prototype.slice.call(root.querySelectorAll('form[data-dropzone], form[data-typing-url]'));
    if (root.matches && root.matches('form[data-dropzone], form[data-typing-url]')) {
      forms.push(root);
    }
    forms.forEach(function (f) {
      if (f.hasAttribute('data-dropzone')) {
        initDropzone(f);
      }
      if (f.hasAttribute('data-typing-url')) {
        initTyping(f);
      }
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', function () { init(document.body); });
  } else {
    init(document.body);
  }
  document.addEventListener('htmx:load', function (evt) {
    init(evt.detail && evt.detail.elt ? evt.detail.elt : evt.target);
  });
})();
