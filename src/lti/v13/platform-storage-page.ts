import { escapeHtml, hiddenFields, jsonForScript } from './html.js'

/**
 * Pages for the cookie-less path (wire-formats.md §10, 1EdTech "LTI Client Side postMessages"):
 * when a browser blocks our third-party cookie, the login keeps the browser binding in the
 * platform's storage (lti.put_data) and the launch reads it back (lti.get_data), both through
 * postMessage to the platform window, before auto-submitting the next step.
 *
 * Origin rules: messages go to `targetOrigin` (the origin of the platform's OIDC auth endpoint);
 * replies are accepted only from that origin and only with a `message_id` we issued and the
 * matching `.response` subject. `postToAnyOrigin` is the documented per-registration fallback for
 * platforms whose storage frame answers from a broken origin setup (targetOrigin "*" when
 * posting); replies are still checked against `targetOrigin`.
 *
 * The storage frame is the `frame` of the capabilities answer, else `lti_storage_target`, looked
 * up in window.opener || window.parent (`_parent` meaning that window itself). Whatever happens
 * (no platform support, timeouts, errors) the page submits its form: the server decides.
 *
 * Serve these pages with `Cache-Control: no-store` and `Referrer-Policy: no-referrer`; pass the
 * response's CSP nonce as `cspNonce` when a CSP forbids inline scripts.
 */

export interface PlatformStorageTarget {
  /** `lti_storage_target` from the login (e.g. `_parent`, `post_message_forwarding`). */
  frame: string
  /** Origin of the platform's OIDC auth endpoint. */
  targetOrigin: string
}

interface PageOptions {
  storage: PlatformStorageTarget
  postToAnyOrigin?: boolean | undefined
  cspNonce?: string | undefined
  /** Per message; default 2000 ms. */
  timeoutMs?: number | undefined
}

export interface StoragePutPageOptions extends PageOptions {
  entries: ReadonlyArray<{ key: string, value: string }>
  /** GET: the URL's own query becomes the form's fields (a GET form replaces the action's query). */
  next: { url: string, method: 'GET' | 'POST', fields?: Record<string, string> | undefined }
}

export interface StorageGetPageOptions extends PageOptions {
  /** Each value read is submitted in the form field `field` (empty when unavailable). */
  reads: ReadonlyArray<{ key: string, field: string }>
  next: { url: string, fields: Record<string, string> }
}

/** Platform-storage key of a login's browser binding. */
export function bindingStorageKey (stateId: string): string {
  return `lti13_binding_${stateId}`
}

/** Form field carrying the binding read from platform storage back to the launch route. */
export const STORAGE_BINDING_FIELD = 'lti_storage_binding'

const SCRIPT = `(function () {
  'use strict';
  var cfg = JSON.parse(document.getElementById('lti-storage-config').textContent);
  var form = document.getElementById('lti-storage-form');
  var base = window.opener || window.parent;
  var pending = {};
  var counter = 0;
  var finished = false;
  function finish() { if (finished) { return; } finished = true; form.submit(); }
  function newId() {
    counter += 1;
    var r = new Uint32Array(2);
    window.crypto.getRandomValues(r);
    return 'lti-' + counter + '-' + r[0].toString(36) + r[1].toString(36);
  }
  function frameWindow(name) {
    if (!name || name === '_parent') { return base; }
    try { if (base.frames[name]) { return base.frames[name]; } } catch (e) { }
    return base;
  }
  window.addEventListener('message', function (event) {
    if (event.origin !== cfg.targetOrigin) { return; }
    var data = event.data;
    if (typeof data === 'string') { try { data = JSON.parse(data); } catch (e) { return; } }
    if (!data || typeof data !== 'object' || typeof data.message_id !== 'string') { return; }
    var entry = Object.prototype.hasOwnProperty.call(pending, data.message_id) ? pending[data.message_id] : null;
    if (!entry || data.subject !== entry.subject + '.response') { return; }
    delete pending[data.message_id];
    entry.done(data);
  });
  function request(win, message, done) {
    var id = newId();
    message.message_id = id;
    var timer = setTimeout(function () { if (pending[id]) { delete pending[id]; done(null); } }, cfg.timeoutMs);
    pending[id] = { subject: message.subject, done: function (data) { clearTimeout(timer); done(data); } };
    try { win.postMessage(message, cfg.postOrigin); } catch (e) { clearTimeout(timer); delete pending[id]; done(null); }
  }
  function discover(done) {
    request(base, { subject: 'lti.capabilities' }, function (reply) {
      var subjects = { put: 'lti.put_data', get: 'lti.get_data' };
      var frame = cfg.frame;
      var list = reply && Array.isArray(reply.supported_messages) ? reply.supported_messages : [];
      for (var i = 0; i < list.length; i++) {
        var m = list[i];
        if (!m || typeof m.subject !== 'string') { continue; }
        var kind = /(^|\\.)lti\\.put_data$/.test(m.subject) ? 'put' : /(^|\\.)lti\\.get_data$/.test(m.subject) ? 'get' : null;
        if (kind === null) { continue; }
        subjects[kind] = m.subject;
        if (kind === cfg.op && typeof m.frame === 'string' && m.frame) { frame = m.frame; }
      }
      done(subjects, frameWindow(frame));
    });
  }
  function field(name) {
    for (var i = 0; i < form.elements.length; i++) { if (form.elements[i].name === name) { return form.elements[i]; } }
    return null;
  }
  function run(subjects, win) {
    var items = cfg.op === 'put' ? cfg.entries : cfg.reads;
    var i = 0;
    (function next() {
      if (i >= items.length) { finish(); return; }
      var item = items[i++];
      var message = cfg.op === 'put'
        ? { subject: subjects.put, key: item.key, value: item.value }
        : { subject: subjects.get, key: item.key };
      request(win, message, function (reply) {
        if (cfg.op === 'get' && reply && !reply.error && reply.key === item.key && typeof reply.value === 'string') {
          var input = field(item.field);
          if (input) { input.value = reply.value; }
        }
        next();
      });
    })();
  }
  setTimeout(finish, cfg.timeoutMs * (2 + (cfg.op === 'put' ? cfg.entries.length : cfg.reads.length)));
  discover(run);
})();`

interface PageConfig {
  op: 'put' | 'get'
  targetOrigin: string
  postOrigin: string
  frame: string
  timeoutMs: number
  entries: ReadonlyArray<{ key: string, value: string }>
  reads: ReadonlyArray<{ key: string, field: string }>
}

function page (config: PageConfig, form: { action: string, method: 'GET' | 'POST', fields: ReadonlyArray<readonly [string, string]> }, cspNonce: string | undefined): string {
  const nonceAttr = cspNonce === undefined ? '' : ` nonce="${escapeHtml(cspNonce)}"`
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<title>Launching…</title>
</head>
<body>
<form id="lti-storage-form" action="${escapeHtml(form.action)}" method="${form.method === 'GET' ? 'get' : 'post'}">
${hiddenFields(form.fields)}
<noscript><p>JavaScript is off: continue manually.</p><button type="submit">Continue</button></noscript>
</form>
<script type="application/json" id="lti-storage-config">${jsonForScript(config)}</script>
<script${nonceAttr}>${SCRIPT}</script>
</body>
</html>
`
}

function origin (value: string): string {
  const parsed = new URL(value)
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new RangeError('platform storage origin must be http(s)')
  return parsed.origin
}

function baseConfig (options: PageOptions): Omit<PageConfig, 'op' | 'entries' | 'reads'> {
  const targetOrigin = origin(options.storage.targetOrigin)
  return {
    targetOrigin,
    postOrigin: options.postToAnyOrigin === true ? '*' : targetOrigin,
    frame: options.storage.frame,
    timeoutMs: options.timeoutMs ?? 2000
  }
}

/** Stores `entries` in platform storage, then continues to `next` (GET or POST). */
export function renderStoragePutPage (options: StoragePutPageOptions): string {
  const config: PageConfig = { ...baseConfig(options), op: 'put', entries: options.entries, reads: [] }
  let action = options.next.url
  const fields: Array<[string, string]> = []
  if (options.next.method === 'GET') {
    const url = new URL(options.next.url)
    for (const pair of url.searchParams) fields.push(pair)
    url.search = ''
    url.hash = ''
    action = url.href
  }
  for (const pair of Object.entries(options.next.fields ?? {})) fields.push(pair)
  return page(config, { action, method: options.next.method, fields }, options.cspNonce)
}

/** Reads `reads` from platform storage into form fields, then POSTs the form to `next.url`. */
export function renderStorageGetPage (options: StorageGetPageOptions): string {
  const config: PageConfig = { ...baseConfig(options), op: 'get', entries: [], reads: options.reads }
  const fields: Array<[string, string]> = Object.entries(options.next.fields)
  for (const read of options.reads) fields.push([read.field, ''])
  return page(config, { action: options.next.url, method: 'POST', fields }, options.cspNonce)
}

/** Login side: keep the binding in platform storage, then go to the platform's auth endpoint. */
export function renderLoginStoragePage (input: {
  storage: PlatformStorageTarget
  stateId: string
  binding: string
  redirectUrl: string
  postToAnyOrigin?: boolean | undefined
  cspNonce?: string | undefined
}): string {
  return renderStoragePutPage({
    storage: input.storage,
    postToAnyOrigin: input.postToAnyOrigin,
    cspNonce: input.cspNonce,
    entries: [{ key: bindingStorageKey(input.stateId), value: input.binding }],
    next: { url: input.redirectUrl, method: 'GET' }
  })
}

/** Launch side: read the binding back, then re-POST id_token + state + binding to `actionUrl`. */
export function renderLaunchStoragePage (input: {
  storage: PlatformStorageTarget
  stateId: string
  idToken: string
  state: string
  actionUrl: string
  postToAnyOrigin?: boolean | undefined
  cspNonce?: string | undefined
}): string {
  return renderStorageGetPage({
    storage: input.storage,
    postToAnyOrigin: input.postToAnyOrigin,
    cspNonce: input.cspNonce,
    reads: [{ key: bindingStorageKey(input.stateId), field: STORAGE_BINDING_FIELD }],
    next: { url: input.actionUrl, fields: { id_token: input.idToken, state: input.state } }
  })
}
