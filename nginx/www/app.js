// One script for the one page (no build step), hence over 400 lines.
// The exportd web page: plain JavaScript against the JSON API (docs/api.md).
// No framework, no build step, no external resources. Filter values are only
// ever shown in the page: this script never logs them, never puts them into a
// URL, and builds every piece of text with textContent (never innerHTML).
'use strict';

(() => {
  const EXPIRED_SENTENCE = 'The export file has expired and been deleted for security reasons. ' +
    'Please generate a new export.';
  const DELETED_SENTENCE = 'The export file was deleted on request. Please generate a new export.';
  const ACTIVE = new Set(['queued', 'running']);
  const LIST_LIMIT = 20;
  const LIST_POLL_MS = 2000;     // the list endpoint sends no Retry-After
  const DEFAULT_POLL_MS = 1000;  // queued/running answers carry Retry-After: 1 (docs/api.md)
  const ERROR_RETRY_MS = 5000;
  const FORMAT_LABELS = { csv: 'CSV', ndjson: 'NDJSON (JSON lines)', xlsx: 'Excel (XLSX)' };
  const STATUS_LABELS = {
    queued: 'Queued', running: 'Running', ready: 'Ready', expired: 'Expired',
    deleted: 'Deleted', failed: 'Failed',
  };

  const $ = (id) => document.getElementById(id);
  const numbers = new Intl.NumberFormat('en');
  const percents = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });

  // ---------------------------------------------------------------- DOM helper
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = value;
      else if (key === 'dataset') Object.assign(node.dataset, value);
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function announce(message) {
    const region = $('announcer');
    region.textContent = '';
    setTimeout(() => { region.textContent = message; }, 60);
  }

  function showNotice(node, message) {
    node.textContent = message;
    node.hidden = !message;
  }

  // ---------------------------------------------------------------- API
  class ApiError extends Error {
    constructor(status, code, message, field, retryAfter) {
      super(message);
      this.status = status;
      this.code = code;
      this.field = field;
      this.retryAfter = retryAfter;
    }
  }

  function parseRetryAfter(header) {
    if (!header) return null;
    const seconds = Number(header.trim());
    const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
    if (!Number.isFinite(ms)) return null;
    return Math.min(Math.max(ms, 250), 60000);
  }

  // A sentence for a person when the answer has no JSON message (an nginx
  // error page, a proxy in between, a network failure).
  function fallbackMessage(status) {
    switch (status) {
      case 401: return 'Please sign in to use exports, then reload this page.';
      case 403: return 'You are not allowed to do this.';
      case 404: return 'This export does not exist (any more).';
      case 413: return 'The request is too large. Please use fewer filter values.';
      case 429: return 'Too many exports are in progress. Please wait for one to finish, then try again.';
      case 507: return 'The export storage is full. Please try again later.';
      case 502: case 503: case 504:
        return `The export service is unavailable right now (HTTP ${status}). Please try again shortly.`;
      default:
        return status >= 500
          ? `Something went wrong on the server (HTTP ${status}). Please try again.`
          : `The request could not be completed (HTTP ${status}).`;
    }
  }

  async function api(method, path, body) {
    const init = {
      method,
      credentials: 'same-origin', // basic auth in front of the same origin keeps working
      cache: 'no-store',
      headers: { Accept: 'application/json' },
    };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const sentAt = Date.now();
    let response;
    try {
      response = await fetch(path, init);
    } catch (_) {
      throw new ApiError(0, 'network',
        'Could not reach the export service. Check your connection, then try again.', null, null);
    }
    const retryAfter = parseRetryAfter(response.headers.get('Retry-After'));
    let data = null;
    try {
      if (/json/i.test(response.headers.get('Content-Type') || '')) data = await response.json();
      else await response.text();
    } catch (_) {
      data = null;
    }
    const receivedAt = Date.now();
    if (response.ok) {
      if (data && typeof data === 'object') return { status: response.status, data, retryAfter, sentAt, receivedAt };
      throw new ApiError(response.status, 'bad_response',
        'The export service sent an answer this page does not understand. Please reload the page.', null, retryAfter);
    }
    const message = data && typeof data.message === 'string' && data.message.trim()
      ? data.message : fallbackMessage(response.status);
    const field = data && typeof data.field === 'string' ? data.field : null;
    throw new ApiError(response.status, data && data.error, message, field, retryAfter);
  }

  const exportPath = (x, link) => (x.links && x.links[link]) ||
    `/api/exports/${encodeURIComponent(x.id)}${link === 'self' ? '' : '/' + link}`;

  // ---------------------------------------------------------------- clock
  // The countdown runs on the client clock, corrected by the server's view:
  // serverNow() = Date.now() + skew. Every ready answer says "expires_in_seconds
  // = s (rounded down)", so when it arrived the time left was within
  // [s - round trip, s + 1) seconds; the skew is moved just enough to agree.
  const clock = { skew: 0 };
  const serverNow = () => Date.now() + clock.skew;

  function noteServerView(x, sentAt, receivedAt) {
    if (!x || x.status !== 'ready' || !Number.isInteger(x.expires_in_seconds)) return;
    const expiresAt = Date.parse(x.expires_at);
    if (!Number.isFinite(expiresAt)) return;
    const left = x.expires_in_seconds * 1000;
    const lowest = expiresAt - receivedAt - (left + 1000);
    const highest = expiresAt - receivedAt - (left - (receivedAt - sentAt));
    clock.skew = Math.min(Math.max(clock.skew, lowest), highest);
  }

  const msLeft = (iso) => Date.parse(iso) - serverNow();

  // ---------------------------------------------------------------- formatting
  function formatDuration(seconds) {
    if (seconds < 60) return `${seconds} s`;
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return seconds % 60 ? `${minutes} min ${seconds % 60} s` : `${minutes} min`;
    return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  }

  function formatBytes(n) {
    if (!Number.isFinite(n)) return '';
    if (n < 1024) return `${numbers.format(n)} bytes`;
    const units = ['KB', 'MB', 'GB', 'TB'];
    let value = n / 1024;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return `${percents.format(value)} ${units[unit]} (${numbers.format(n)} bytes)`;
  }

  function formatTime(iso) {
    const date = new Date(iso);
    if (!iso || Number.isNaN(date.getTime())) return '';
    return date.toLocaleString(undefined, {
      month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', second: '2-digit',
    });
  }

  function timeElement(iso) {
    return iso ? el('time', { datetime: iso, text: formatTime(iso) }) : '';
  }

  function humanize(field) {
    const words = String(field).replace(/[_.]+/g, ' ').trim();
    return words.charAt(0).toUpperCase() + words.slice(1);
  }

  const formatLabel = (format) => FORMAT_LABELS[format] || String(format || '').toUpperCase();

  function datasetTitle(name) {
    const ds = state.datasets.find((d) => d.name === name);
    return (ds && ds.title) || name;
  }

  function describeFilter(value) {
    if (Array.isArray(value)) return value.join(' or ');
    if (value && typeof value === 'object') {
      if ('contains' in value) return `contains “${value.contains}”`;
      const [low, high] = 'from' in value || 'to' in value ? ['from', 'to'] : ['min', 'max'];
      if (low in value && high in value) return `${value[low]} to ${value[high]}`;
      if (low in value) return low === 'from' ? `from ${value[low]}` : `at least ${value[low]}`;
      if (high in value) return low === 'from' ? `until ${value[high]}` : `at most ${value[high]}`;
      return JSON.stringify(value);
    }
    return String(value);
  }

  function describeFilters(filters) {
    const entries = filters && typeof filters === 'object' ? Object.entries(filters) : [];
    if (!entries.length) return 'All rows (no filters)';
    return entries.map(([field, value]) => `${humanize(field)}: ${describeFilter(value)}`).join('; ');
  }

  function badge(status) {
    return el('span', { class: `badge status-${status}`, text: STATUS_LABELS[status] || status });
  }

  function progressText(x) {
    if (x.status === 'queued') return 'Waiting to start…';
    const p = x.progress || {};
    const written = numbers.format(p.rows_written || 0);
    if (Number.isFinite(p.rows_total)) {
      const pct = Number.isFinite(p.percent) ? ` (${percents.format(p.percent)}%)` : '';
      return `${written} of ${numbers.format(p.rows_total)} rows written${pct}`;
    }
    return `${written} rows written`;
  }

  function countdownText(iso, prefix) {
    const left = msLeft(iso);
    return left > 0 ? `${prefix} ${formatDuration(Math.ceil(left / 1000))}` : 'Expiring now…';
  }

  // ---------------------------------------------------------------- state
  const state = {
    datasets: [],
    submitting: false,
    targets: new Map(),   // API field path -> {group, control}
    groups: [],           // {errorEl, controls, container}
    collectors: [],       // () => {field, value, errors}
  };
  const current = { exp: null, timer: null, inFlight: false, lastPollAt: 0, rendered: null, errorEl: null };
  const list = { items: [], loaded: false, timer: null, inFlight: false, again: false, lastAt: 0 };
  let ticker = null;

  // ---------------------------------------------------------------- the form
  const fieldId = (field) => 'f-' + String(field).replace(/[^A-Za-z0-9_-]/g, '-');

  function makeGroup(container, errorEl, controls) {
    const group = { container, errorEl, controls };
    state.groups.push(group);
    for (const control of controls) {
      const clear = () => clearGroupError(group);
      control.addEventListener('input', clear);
      control.addEventListener('change', clear);
    }
    return group;
  }

  function register(path, group, control) {
    state.targets.set(path, { group, control });
  }

  function clearGroupError(group) {
    group.errorEl.hidden = true;
    group.errorEl.textContent = '';
    group.container.classList.remove('has-error');
    for (const control of group.controls) control.removeAttribute('aria-invalid');
  }

  function clearErrors() {
    for (const group of state.groups) clearGroupError(group);
    showNotice($('form-error'), '');
  }

  // Finds the control for an API `field` path such as
  // "filters.created_at.from" or "filters.status[1]", most specific first.
  function resolveTarget(path) {
    let p = String(path || '').replace(/\[\d+\]/g, '');
    while (p) {
      if (state.targets.has(p)) return state.targets.get(p);
      const dot = p.lastIndexOf('.');
      if (dot < 0) break;
      p = p.slice(0, dot);
    }
    return null;
  }

  function showFieldError(path, message) {
    const target = resolveTarget(path);
    if (!target) return null;
    const { group, control } = target;
    group.errorEl.textContent = message;
    group.errorEl.hidden = false;
    group.container.classList.add('has-error');
    control.setAttribute('aria-invalid', 'true');
    return target;
  }

  function errorParagraph(id) {
    return el('p', { id, class: 'field-error', hidden: true });
  }

  function enumFilter(filter, label, id, path) {
    const errorId = `${id}-error`;
    const hintId = `${id}-hint`;
    const values = Array.isArray(filter.values) ? filter.values : [];
    const select = el('select', {
      id, multiple: true, size: Math.min(Math.max(values.length, 2), 8),
      'aria-describedby': `${hintId} ${errorId}`,
    }, values.map((v) => el('option', { value: v, text: v })));
    const errorEl = errorParagraph(errorId);
    const clearButton = el('button', {
      type: 'button', class: 'link-button', text: 'Clear', 'aria-label': `Clear ${label}`,
      onclick: () => {
        for (const option of select.options) option.selected = false;
        select.dispatchEvent(new Event('change'));
        select.focus();
      },
    });
    const container = el('div', { class: 'field filter', dataset: { field: filter.field } },
      el('div', { class: 'label-row' }, el('label', { for: id, text: label }), clearButton),
      select,
      el('p', { id: hintId, class: 'hint', text: 'None chosen means all. Ctrl-click (⌘-click on a Mac) or Shift + arrow keys to choose several.' }),
      errorEl);
    const group = makeGroup(container, errorEl, [select]);
    register(path, group, select);
    return {
      container,
      collect: () => {
        const chosen = Array.from(select.selectedOptions, (o) => o.value);
        return { value: chosen.length ? chosen : undefined, errors: [] };
      },
    };
  }

  function stringFilter(filter, label, id, path) {
    const errorId = `${id}-error`;
    const mode = el('select', { id: `${id}-mode`, 'aria-label': `How ${label} is matched`, class: 'mode' },
      el('option', { value: 'equals', text: 'equals' }),
      el('option', { value: 'contains', text: 'contains' }));
    const input = el('input', {
      type: 'text', id, autocomplete: 'off', spellcheck: 'false', 'aria-describedby': errorId,
    });
    const errorEl = errorParagraph(errorId);
    const container = el('div', { class: 'field filter', dataset: { field: filter.field } },
      el('label', { for: id, text: label }),
      el('div', { class: 'inline' }, mode, input),
      errorEl);
    const group = makeGroup(container, errorEl, [mode, input]);
    register(path, group, input);
    register(`${path}.contains`, group, input);
    return {
      container,
      collect: () => {
        const text = input.value.trim();
        if (!text) return { value: undefined, errors: [] };
        return { value: mode.value === 'contains' ? { contains: text } : text, errors: [] };
      },
    };
  }

  // date (from/to) and integer (min/max): two optional inputs in a fieldset.
  function rangeFilter(filter, label, id, path, kind) {
    const errorId = `${id}-error`;
    const hintId = `${id}-hint`;
    const sides = kind === 'date' ? [['from', 'From'], ['to', 'To']] : [['min', 'Min'], ['max', 'Max']];
    const errorEl = errorParagraph(errorId);
    const inputs = {};
    const parts = sides.map(([key, text]) => {
      const inputId = `${id}-${key}`;
      const input = kind === 'date'
        ? el('input', { type: 'date', id: inputId, 'aria-describedby': `${hintId} ${errorId}` })
        : el('input', { type: 'number', step: 1, inputmode: 'numeric', id: inputId, 'aria-describedby': `${hintId} ${errorId}` });
      inputs[key] = input;
      return el('div', { class: 'sub' }, el('label', { for: inputId, text }), input);
    });
    const hint = kind === 'date' ? 'Either side optional; both days are included (UTC).'
      : 'Whole numbers; either side optional, both included.';
    const container = el('fieldset', { class: `field filter filter-${kind}`, dataset: { field: filter.field } },
      el('legend', { text: label }),
      el('div', { class: 'inline' }, parts),
      el('p', { id: hintId, class: 'hint', text: hint }),
      errorEl);
    const group = makeGroup(container, errorEl, Object.values(inputs));
    register(path, group, inputs[sides[0][0]]);
    for (const [key] of sides) register(`${path}.${key}`, group, inputs[key]);
    return {
      container,
      collect: () => {
        const value = {};
        const errors = [];
        for (const [key] of sides) {
          const input = inputs[key];
          const sub = `${path}.${key}`;
          if (input.validity.badInput) {
            errors.push([sub, kind === 'date' ? 'Enter a complete date, or clear the field.' : 'Enter a whole number, such as 1000.']);
            continue;
          }
          if (input.value === '') continue;
          if (kind === 'date') {
            value[key] = input.value;
          } else {
            const n = Number(input.value);
            if (!Number.isInteger(n)) errors.push([sub, 'Enter a whole number, without decimals.']);
            else if (!Number.isSafeInteger(n)) errors.push([sub, 'This number is too large.']);
            else value[key] = n;
          }
        }
        return { value: Object.keys(value).length ? value : undefined, errors };
      },
    };
  }

  function buildForm() {
    const ds = state.datasets.find((d) => d.name === $('dataset').value) || state.datasets[0];
    if (!ds) return;
    state.targets.clear();
    state.groups = [];
    state.collectors = [];

    makeGroup($('dataset-field'), $('dataset-error'), [$('dataset')]);
    register('dataset', state.groups[0], $('dataset'));
    const columns = Array.isArray(ds.columns) ? ds.columns : [];
    $('dataset-columns').textContent = columns.length ? `Columns: ${columns.join(', ')}` : '';

    const previousFormat = (document.querySelector('input[name="format-choice"]:checked') || {}).value;
    const formats = Array.isArray(ds.formats) && ds.formats.length ? ds.formats : ['csv'];
    const radios = formats.map((format, i) => el('input', {
      type: 'radio', name: 'format-choice', id: `format-${format}`, value: format,
      checked: previousFormat ? previousFormat === format : i === 0,
    }));
    if (!radios.some((r) => r.checked)) radios[0].checked = true;
    $('format-options').replaceChildren(...radios.map((radio) =>
      el('label', { class: 'choice', for: radio.id }, radio, ' ', formatLabel(radio.value))));
    const formatGroup = makeGroup($('format-field'), $('format-error'), radios);
    register('format', formatGroup, radios[0]);

    const filtersGroup = makeGroup($('filters-field'), $('filters-error'), []);
    const filters = Array.isArray(ds.filters) ? ds.filters : [];
    const built = filters.map((filter) => {
      const label = humanize(filter.field);
      const id = fieldId(filter.field);
      const path = `filters.${filter.field}`;
      if (filter.type === 'enum') return [filter.field, enumFilter(filter, label, id, path)];
      if (filter.type === 'date') return [filter.field, rangeFilter(filter, label, id, path, 'date')];
      if (filter.type === 'integer') return [filter.field, rangeFilter(filter, label, id, path, 'integer')];
      return [filter.field, stringFilter(filter, label, id, path)];
    });
    $('filter-fields').replaceChildren(...built.map(([, b]) => b.container));
    state.collectors = built.map(([field, b]) => () => ({ field, ...b.collect() }));
    register('filters', filtersGroup, $('filters-field'));
    $('filters-field').hidden = !filters.length;
  }

  function collectRequest() {
    const body = {
      dataset: $('dataset').value,
      format: (document.querySelector('input[name="format-choice"]:checked') || {}).value || 'csv',
      filters: {},
    };
    const errors = [];
    for (const collect of state.collectors) {
      const result = collect();
      errors.push(...result.errors);
      if (result.value !== undefined) body.filters[result.field] = result.value;
    }
    return { body, errors };
  }

  async function onSubmit(event) {
    event.preventDefault();
    if (state.submitting) return;
    clearErrors();
    const { body, errors } = collectRequest();
    if (errors.length) {
      const shown = errors.map(([path, message]) => showFieldError(path, message)).filter(Boolean);
      showNotice($('form-error'), 'Please correct the marked field before exporting.');
      if (shown[0]) shown[0].control.focus();
      return;
    }
    state.submitting = true;
    const button = $('export-button');
    button.setAttribute('aria-busy', 'true');
    button.textContent = 'Starting…';
    try {
      const r = await api('POST', '/api/exports', body);
      setCurrent(r.data, { retryAfter: r.retryAfter });
      revealCurrent();
      announce(r.status === 200
        ? 'This export is already in progress; its progress is shown under “Your export”.'
        : 'Export started. Its progress is shown under “Your export”.');
      refreshList();
    } catch (e) {
      const target = e.field ? showFieldError(e.field, e.message) : null;
      if (target) {
        showNotice($('form-error'), 'The export was not started. Please correct the marked field.');
        target.control.focus();
      } else {
        showNotice($('form-error'), e.message);
      }
    } finally {
      state.submitting = false;
      button.removeAttribute('aria-busy');
      button.textContent = 'Export';
    }
  }

  async function loadDatasets() {
    showNotice($('page-error'), '');
    $('datasets-loading').hidden = false;
    try {
      const r = await api('GET', '/api/datasets');
      state.datasets = Array.isArray(r.data.datasets) ? r.data.datasets : [];
    } catch (e) {
      $('datasets-loading').hidden = true;
      const box = $('page-error');
      box.replaceChildren(el('span', { text: `The datasets could not be loaded. ${e.message} ` }),
        el('button', { type: 'button', class: 'button secondary small', text: 'Try again', onclick: loadDatasets }));
      box.hidden = false;
      return false;
    }
    if (!state.datasets.length) {
      $('datasets-loading').textContent = 'There are no datasets you may export.';
      return true;
    }
    const select = $('dataset');
    select.replaceChildren(...state.datasets.map((d) => el('option', { value: d.name, text: d.title || d.name })));
    buildForm();
    $('datasets-loading').hidden = true;
    $('export-form').hidden = false;
    return true;
  }

  // ---------------------------------------------------------------- current export
  function setCurrent(x, options = {}) {
    current.exp = x;
    current.rendered = null;
    renderCurrent(options);
    scheduleCurrentPoll(options.retryAfter);
  }

  // On a narrow screen the panel sits below the form: bring it into view.
  function revealCurrent() {
    const section = $('current-section');
    const top = section.getBoundingClientRect().top;
    if (top > window.innerHeight - 80 || top < 0) section.scrollIntoView({ block: 'start' });
  }

  function primaryControl(box) {
    return box.querySelector('[data-primary]') || $('current-heading');
  }

  function renderCurrent(options = {}) {
    const x = current.exp;
    const box = $('current');
    if (!x) return;
    if (current.rendered === x.status && ACTIVE.has(x.status)) {
      updateProgress(x);
      return;
    }
    if (current.rendered === x.status) return;
    const hadFocus = box.contains(document.activeElement);
    const firstRender = current.rendered === null;
    current.rendered = x.status;
    current.errorEl = el('div', { class: 'notice error', role: 'alert', hidden: true });

    const parts = [
      el('p', { class: 'summary' }, badge(x.status), ' ',
        el('strong', { text: datasetTitle(x.dataset) }), ` · ${formatLabel(x.format)}`),
      el('p', { class: 'filters-summary', text: describeFilters(x.filters) }),
    ];
    let message = null;

    if (ACTIVE.has(x.status)) {
      parts.push(el('div', { class: 'progress-block' },
        el('label', { for: 'progress', text: 'Progress' }),
        el('progress', { id: 'progress', max: 100, 'aria-describedby': 'progress-text' }),
        el('p', { id: 'progress-text', class: 'progress-text' })));
      parts.push(el('div', { class: 'actions' },
        el('button', {
          type: 'button', class: 'button secondary', text: 'Cancel export',
          onclick: () => deleteExport(x, current.errorEl),
        })));
    } else if (x.status === 'ready') {
      const file = x.file || {};
      parts.push(el('div', { class: 'download-row' },
        el('a', {
          id: 'download-link', class: 'button primary download', href: exportPath(x, 'download'),
          'data-primary': true, 'aria-describedby': 'file-name countdown',
        }, el('span', { 'aria-hidden': 'true', class: 'icon', text: '⬇' }), ' Download'),
        el('p', {
          id: 'countdown', class: 'countdown', role: 'timer', 'aria-live': 'off',
          dataset: { expiresAt: x.expires_at, prefix: 'Expires in' },
          text: countdownText(x.expires_at, 'Expires in'),
        })));
      parts.push(el('dl', { class: 'facts' },
        el('div', {}, el('dt', { text: 'File' }), el('dd', { id: 'file-name', text: file.name || '' })),
        el('div', {}, el('dt', { text: 'Size' }), el('dd', { id: 'file-size', text: formatBytes(file.size_bytes) })),
        el('div', {}, el('dt', { text: 'Rows' }), el('dd', { id: 'file-rows', text: numbers.format(file.rows || 0) }))));
      parts.push(el('div', { class: 'actions' },
        el('button', {
          type: 'button', class: 'button danger', text: 'Delete now',
          onclick: () => deleteExport(x, current.errorEl),
        })));
      if (!firstRender) {
        const left = Math.max(0, Math.ceil(msLeft(x.expires_at) / 1000));
        message = `Your export is ready: ${file.name}, ${numbers.format(file.rows || 0)} rows. ` +
          `Download it within ${formatDuration(left)}.`;
      }
    } else if (x.status === 'expired' || x.status === 'deleted') {
      const sentence = typeof x.message === 'string' && x.message
        ? x.message : (x.status === 'expired' ? EXPIRED_SENTENCE : DELETED_SENTENCE);
      parts.push(el('p', { id: `${x.status}-message`, class: 'gone-message', text: sentence }));
      parts.push(el('div', { class: 'actions' },
        el('button', {
          type: 'button', id: 'regenerate-button', class: 'button primary', 'data-primary': true,
          text: 'Generate a new export', onclick: () => regenerate(x, current.errorEl, true),
        })));
      message = sentence;
    } else if (x.status === 'failed') {
      const err = x.error || {};
      const text = `The export failed: ${err.message || err.code || 'unknown error'}`;
      parts.push(el('p', { class: 'notice error', text }));
      parts.push(el('div', { class: 'actions' },
        el('button', {
          type: 'button', id: 'regenerate-button', class: 'button primary', 'data-primary': true,
          text: 'Try again', onclick: () => regenerate(x, current.errorEl, true),
        })));
      message = text;
    }
    parts.push(current.errorEl);
    box.replaceChildren(...parts);
    if (ACTIVE.has(x.status)) updateProgress(x);
    if (x.status === 'ready') ensureTicker();
    if (options.focus || hadFocus) primaryControl(box).focus();
    if (message) announce(message);
  }

  function updateProgress(x) {
    const bar = $('progress');
    const text = $('progress-text');
    if (!bar || !text) return;
    const p = x.progress || {};
    if (x.status === 'running' && Number.isFinite(p.percent)) bar.value = p.percent;
    else bar.removeAttribute('value'); // indeterminate while the total is unknown
    text.textContent = progressText(x);
  }

  function scheduleCurrentPoll(delay) {
    clearTimeout(current.timer);
    current.timer = null;
    const x = current.exp;
    if (!x) return;
    if (ACTIVE.has(x.status)) current.timer = setTimeout(pollCurrent, delay || DEFAULT_POLL_MS);
    // ready: the countdown ticker polls once the time is up; other states are final.
  }

  function pollCurrentSoon() {
    if (!current.inFlight && Date.now() - current.lastPollAt >= 500) pollCurrent();
  }

  async function pollCurrent() {
    const x = current.exp;
    if (!x || current.inFlight) return;
    clearTimeout(current.timer);
    current.inFlight = true;
    current.lastPollAt = Date.now();
    try {
      const r = await api('GET', exportPath(x, 'self'));
      if (!current.exp || current.exp.id !== x.id) return; // replaced meanwhile
      noteServerView(r.data, r.sentAt, r.receivedAt);
      const changed = r.data.status !== current.exp.status;
      current.exp = r.data;
      if (current.errorEl) showNotice(current.errorEl, '');
      renderCurrent();
      if (changed) refreshList();
      scheduleCurrentPoll(r.retryAfter);
    } catch (e) {
      if (!current.exp || current.exp.id !== x.id) return;
      if (e.status === 404) {
        showNotice(current.errorEl, 'This export is no longer known to the service. Please start a new one.');
        current.exp = null;
        return;
      }
      showNotice(current.errorEl, `${e.message} Checking again shortly…`);
      current.timer = setTimeout(pollCurrent, e.retryAfter || ERROR_RETRY_MS);
    } finally {
      current.inFlight = false;
    }
  }

  async function deleteExport(x, errorEl) {
    try {
      const r = await api('DELETE', exportPath(x, 'self'));
      if (current.exp && current.exp.id === x.id) setCurrent(r.data);
      else announce(r.data.status === 'deleted' ? 'The export was deleted.' : `The export is ${r.data.status}.`);
      showNotice(errorEl, '');
    } catch (e) {
      showNotice(errorEl, e.message);
    }
    refreshList();
  }

  async function regenerate(x, errorEl, fromPanel) {
    if (state.submitting) return;
    state.submitting = true;
    try {
      const r = await api('POST', exportPath(x, 'regenerate'));
      setCurrent(r.data, { retryAfter: r.retryAfter, focus: fromPanel });
      announce('A new export with the same dataset, format and filters has started.');
    } catch (e) {
      showNotice(errorEl, e.message);
    } finally {
      state.submitting = false;
    }
    refreshList();
  }

  // ---------------------------------------------------------------- countdowns
  function ensureTicker() {
    if (!ticker) ticker = setInterval(tick, 250);
    tick();
  }

  function tick() {
    const nodes = document.querySelectorAll('[data-expires-at]');
    if (!nodes.length) {
      clearInterval(ticker);
      ticker = null;
      return;
    }
    let dueCurrent = false;
    let dueList = false;
    for (const node of nodes) {
      const text = countdownText(node.dataset.expiresAt, node.dataset.prefix || 'Expires in');
      if (node.textContent !== text) node.textContent = text;
      if (msLeft(node.dataset.expiresAt) <= 0) {
        if ($('current').contains(node)) dueCurrent = true;
        else dueList = true;
      }
    }
    // The server says `expired` from expires_at on: ask it.
    if (dueCurrent) pollCurrentSoon();
    if (dueList && !list.inFlight && Date.now() - list.lastAt >= 1000) refreshList();
  }

  // ---------------------------------------------------------------- recent exports
  function scheduleList(errorDelay) {
    clearTimeout(list.timer);
    list.timer = null;
    const active = list.items.some((x) => ACTIVE.has(x.status));
    if (active) list.timer = setTimeout(refreshList, errorDelay || LIST_POLL_MS);
  }

  async function refreshList() {
    if (list.inFlight) {
      list.again = true;
      return;
    }
    list.inFlight = true;
    list.lastAt = Date.now();
    clearTimeout(list.timer);
    let errorDelay = null;
    try {
      const r = await api('GET', `/api/exports?limit=${LIST_LIMIT}`);
      const items = Array.isArray(r.data.exports) ? r.data.exports : [];
      for (const x of items) noteServerView(x, r.sentAt, r.receivedAt);
      list.items = items;
      list.loaded = true;
      showNotice($('recent-error'), '');
      renderList();
    } catch (e) {
      errorDelay = e.retryAfter || ERROR_RETRY_MS;
      const box = $('recent-error');
      box.replaceChildren(el('span', { text: `The list could not be refreshed. ${e.message} ` }),
        el('button', { type: 'button', class: 'button secondary small', text: 'Try again', onclick: () => refreshList() }));
      box.hidden = false;
    } finally {
      list.inFlight = false;
    }
    if (list.again) {
      list.again = false;
      return refreshList();
    }
    scheduleList(errorDelay);
  }

  function rowDetails(x) {
    switch (x.status) {
      case 'queued':
      case 'running':
        return progressText(x);
      case 'ready': {
        const file = x.file || {};
        return [`${numbers.format(file.rows || 0)} rows · ${formatBytes(file.size_bytes).replace(/ \(.*\)$/, '')} · `,
          el('span', {
            class: 'countdown-inline', dataset: { expiresAt: x.expires_at, prefix: 'expires in' },
            text: countdownText(x.expires_at, 'expires in'),
          })];
      }
      case 'expired':
        return ['Expired ', timeElement(x.expired_at || x.expires_at)];
      case 'deleted':
        return ['Deleted ', timeElement(x.deleted_at)];
      case 'failed':
        return (x.error && (x.error.message || x.error.code)) || 'Failed';
      default:
        return '';
    }
  }

  function rowActions(x) {
    const when = formatTime(x.created_at);
    const what = `${datasetTitle(x.dataset)} ${formatLabel(x.format)} export from ${when}`;
    const errorEl = $('recent-error');
    if (x.status === 'ready') {
      const name = (x.file && x.file.name) || what;
      return [
        el('a', {
          class: 'button primary small', href: exportPath(x, 'download'), text: 'Download',
          'aria-label': `Download ${name}`, dataset: { focusKey: `download:${x.id}` },
        }),
        el('button', {
          type: 'button', class: 'button danger small', text: 'Delete now', 'aria-label': `Delete now: ${name}`,
          dataset: { focusKey: `delete:${x.id}` }, onclick: () => deleteExport(x, errorEl),
        }),
      ];
    }
    if (ACTIVE.has(x.status)) {
      return el('button', {
        type: 'button', class: 'button secondary small', text: 'Cancel', 'aria-label': `Cancel ${what}`,
        dataset: { focusKey: `cancel:${x.id}` }, onclick: () => deleteExport(x, errorEl),
      });
    }
    return el('button', {
      type: 'button', class: 'button secondary small', text: 'Generate again', 'aria-label': `Generate again: ${what}`,
      dataset: { focusKey: `regenerate:${x.id}` }, onclick: () => regenerate(x, errorEl, false),
    });
  }

  function renderList() {
    const box = $('recent');
    const active = document.activeElement;
    const focusKey = active && box.contains(active) ? active.dataset.focusKey : null;
    if (!list.items.length) {
      box.replaceChildren(el('p', { class: 'muted', text: 'No exports yet. The exports you make appear here.' }));
    } else {
      const currentId = current.exp && current.exp.id;
      const rows = list.items.map((x) => el('tr', {
        dataset: { exportId: x.id, status: x.status }, class: x.id === currentId ? 'is-current' : null,
      },
      el('td', {}, timeElement(x.created_at)),
      el('td', {}, el('strong', { text: datasetTitle(x.dataset) }), ` · ${formatLabel(x.format)}`),
      el('td', { class: 'filters-cell', text: describeFilters(x.filters) }),
      el('td', {}, badge(x.status)),
      el('td', { class: 'details-cell' }, rowDetails(x)),
      el('td', { class: 'actions-cell' }, rowActions(x))));
      const table = el('table', { class: 'exports' },
        el('caption', { class: 'visually-hidden', text: 'Your recent exports, newest first' }),
        el('thead', {}, el('tr', {}, ['Requested', 'Export', 'Filters', 'Status', 'Details', 'Actions']
          .map((h) => el('th', { scope: 'col', text: h })))),
        el('tbody', {}, rows));
      box.replaceChildren(el('div', { class: 'table-scroll' }, table));
    }
    if (focusKey) {
      const again = box.querySelector(`[data-focus-key="${CSS.escape(focusKey)}"]`);
      (again || $('recent-heading')).focus();
    }
    if (list.items.some((x) => x.status === 'ready')) ensureTicker();
  }

  // ---------------------------------------------------------------- start
  async function init() {
    $('recent-heading').setAttribute('tabindex', '-1');
    $('export-form').addEventListener('submit', onSubmit);
    $('dataset').addEventListener('change', () => { clearErrors(); buildForm(); });
    document.addEventListener('visibilitychange', () => {
      if (document.hidden) return;
      if (current.exp && ACTIVE.has(current.exp.status)) pollCurrentSoon();
      if (ticker) tick();
    });
    // Datasets first: on a first visit that answer sets the session cookie the
    // list is keyed by (docs/api.md, Owners and sessions), so the two requests
    // never race for it.
    await loadDatasets();
    await refreshList();
    if (!current.exp) {
      // After a reload, pick up the newest export that is still in progress or ready.
      const open = list.items.find((x) => ACTIVE.has(x.status) || x.status === 'ready');
      if (open) setCurrent(open);
    }
  }

  init();
})();
