#!/usr/bin/env node
// One browser test of the one page, over 400 lines: a scenario per section of the page.
// End-to-end test of the exportd web page (nginx/www) in headless Chromium,
// against real nginx + exportd stacks started by serve_stack.py (the e2e
// harness): retention 3 s, export_rows_per_second capped so that an export
// takes a few seconds. Screenshots of each stage go to tests/browser/output/.
//
//   node tests/browser/page.test.js
// Environment: CHROMIUM_PATH (default /usr/bin/chromium), EXPORTD_BUILD_DIR
// (read by the harness), EXPORTD_BROWSER_OUTPUT (screenshot folder),
// EXPORTD_UPDATE_DOCS_SCREENSHOT=1 (also copy the ready state to docs/page-ready.png).
// Prints "ok - ..." / "not ok - ..." lines, then "N passed, N failed"; exits 1 on failure.
'use strict';

const { chromium } = require('playwright-core');
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const readline = require('readline');

const ROOT = path.resolve(__dirname, '..', '..');
const OUT = process.env.EXPORTD_BROWSER_OUTPUT || path.join(__dirname, 'output');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const TOTAL_TIMEOUT_MS = Number(process.env.EXPORTD_BROWSER_TIMEOUT_MS || 300000);
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const EXPIRED_SENTENCE = 'The export file has expired and been deleted for security reasons. Please generate a new export.';
const DELETED_SENTENCE = 'The export file was deleted on request. Please generate a new export.';
const RETENTION = 3;
const RATE = 15;            // rows per second: the 54-row export below takes ~3.6 s
const MAX_ACTIVE = 2;
const CSV_HEADER = ['id', 'created_at', 'customer_email', 'customer_name', 'country', 'status', 'total_cents', 'currency'];
const FILTER_SQL = "status IN ('shipped','paid') AND country = 'DE' " +
  "AND created_at >= '2025-01-01T00:00:00Z' AND created_at < '2025-07-01T00:00:00Z' " +
  "AND total_cents BETWEEN 1000 AND 50000 AND lower(customer_email) LIKE '%example.org%'";
const AUTH_USER = { username: 'alice', password: 'wonderland' };
const AUTH_SQL = "status = 'refunded' AND country = 'FR'";

// ------------------------------------------------------------------ reporting
let passed = 0;
let failed = 0;
function check(name, ok, detail) {
  if (ok) {
    passed += 1;
    console.log(`ok - ${name}`);
  } else {
    failed += 1;
    console.log(`not ok - ${name}${detail !== undefined ? ` (${typeof detail === 'string' ? detail : JSON.stringify(detail)})` : ''}`);
  }
  return Boolean(ok);
}

async function scenario(name, fn) {
  console.log(`# ${name}`);
  try {
    await fn();
  } catch (e) {
    failed += 1;
    console.log(`not ok - ${name}: aborted: ${(e && e.stack) || e}`);
  }
}

function summary() {
  console.log(`${passed} passed, ${failed} failed`);
}

// ------------------------------------------------------------------ stacks
const stacks = [];

function startStack(args) {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [path.join(__dirname, 'serve_stack.py'), ...args],
      { stdio: ['pipe', 'pipe', 'inherit'] });
    stacks.push(child);
    let settled = false;
    const done = (fn, value) => { if (!settled) { settled = true; clearTimeout(timer); fn(value); } };
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      done(reject, new Error('the stack did not start within 90 s'));
    }, 90000);
    readline.createInterface({ input: child.stdout }).once('line', (line) => {
      let info;
      try {
        info = JSON.parse(line);
      } catch (_) {
        done(reject, new Error(`serve_stack.py printed ${JSON.stringify(line)}`));
        return;
      }
      if (info.error) done(reject, new Error(`the stack did not start: ${info.error}`));
      else done(resolve, { ...info, child });
    });
    child.once('exit', (code) => done(reject, new Error(`serve_stack.py exited (${code}) before the stack was up`)));
  });
}

async function stopStacks() {
  await Promise.all(stacks.map((child) => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) { resolve(); return; }
    const term = setTimeout(() => child.kill('SIGTERM'), 20000);
    const kill = setTimeout(() => { child.kill('SIGKILL'); resolve(); }, 30000);
    child.once('exit', () => { clearTimeout(term); clearTimeout(kill); resolve(); });
    child.stdin.end();
  })));
}

function sqliteCount(db, where) {
  return Number(execFileSync('sqlite3', [db, `SELECT count(*) FROM orders WHERE ${where}`], { timeout: 20000 })
    .toString().trim());
}

// ------------------------------------------------------------------ helpers
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 1; } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i += 1; }
    else if (c === '\n') { row.push(field); rows.push(row); row = []; field = ''; }
    else field += c;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  return rows;
}

const numberIn = (text) => Number(String(text).replace(/[^0-9]/g, ''));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function shot(page, name, fullPage = true) {
  const file = path.join(OUT, `${name}.png`);
  await page.screenshot({ path: file, fullPage, timeout: 10000 });
  return file;
}

function watch(page, base) {
  const w = { external: [], pageErrors: [], console: [], requests: [] };
  page.on('request', (req) => {
    const url = req.url();
    if (!url.startsWith(`${base}/`) && !url.startsWith('data:')) w.external.push(url);
    w.requests.push({ url: url.slice(base.length), method: req.method(), t: Date.now() });
  });
  page.on('pageerror', (e) => w.pageErrors.push(String(e)));
  page.on('console', (m) => w.console.push(`${m.type()}: ${m.text()}`));
  return w;
}

// Records what the "Your export" panel shows, with timestamps, from inside the page.
async function recordPanel(page) {
  await page.evaluate(() => {
    window.__panel = [];
    const box = document.getElementById('current');
    const record = () => {
      const text = (id) => { const n = document.getElementById(id); return n ? n.textContent : null; };
      const bar = document.getElementById('progress');
      window.__panel.push({
        t: performance.timeOrigin + performance.now(), // the real clock, whatever Date.now() says
        countdown: text('countdown'),
        progress: bar ? (bar.hasAttribute('value') ? bar.value : 'indeterminate') : null,
        progressText: text('progress-text'),
        download: document.getElementById('download-link') ? document.getElementById('download-link').getAttribute('href') : null,
        expired: text('expired-message'),
      });
    };
    new MutationObserver(record).observe(box, { subtree: true, childList: true, characterData: true, attributes: true });
  });
}

async function download(page, locator, prefix) {
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 10000 }), locator.click({ timeout: 5000 })]);
  const file = path.join(OUT, `${prefix}-${dl.suggestedFilename()}`);
  await dl.saveAs(file);
  return { file, name: dl.suggestedFilename(), bytes: fs.readFileSync(file) };
}

const focusedId = (page) => page.evaluate(() => (document.activeElement && document.activeElement.id) || '');

// ------------------------------------------------------------------ the page, end to end
async function mainScenario(browser, stack) {
  const base = stack.base_url;
  const expected = sqliteCount(stack.demo_db, FILTER_SQL);
  check('the demo filters select a few dozen rows', expected > 10 && expected < 200, expected);

  const context = await browser.newContext({
    acceptDownloads: true, viewport: { width: 1280, height: 900 }, locale: 'en-US', timezoneId: 'UTC',
  });
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  const w = watch(page, base);
  try {
    // --- the form, from GET /api/datasets ----------------------------------
    await page.goto(`${base}/`, { waitUntil: 'domcontentloaded', timeout: 15000 });
    await page.locator('#export-form').waitFor({ state: 'visible', timeout: 10000 });
    check('the dataset choice lists Orders', (await page.locator('#dataset option').allTextContents()).includes('Orders'));
    check('a format choice: CSV, NDJSON, XLSX', await page.getByLabel('CSV', { exact: true }).isChecked()
      && await page.getByLabel('NDJSON (JSON lines)').count() === 1 && await page.getByLabel('Excel (XLSX)').count() === 1);
    const statusOptions = await page.locator('#f-status option').allTextContents();
    check('enum filter: a multi-select of the declared values',
      await page.locator('#f-status').evaluate((s) => s.multiple) &&
      JSON.stringify(statusOptions) === JSON.stringify(['pending', 'paid', 'shipped', 'refunded', 'cancelled']), statusOptions);
    check('string filters: text with equals / contains',
      JSON.stringify(await page.locator('#f-country-mode option').allTextContents()) === '["equals","contains"]' &&
      await page.locator('#f-customer_email').getAttribute('type') === 'text');
    check('date filter: two date pickers', await page.locator('#f-created_at-from').getAttribute('type') === 'date'
      && await page.locator('#f-created_at-to').getAttribute('type') === 'date');
    check('integer filter: min and max', await page.locator('#f-total_cents-min').getAttribute('type') === 'number'
      && await page.locator('#f-total_cents-max').getAttribute('type') === 'number');
    check('controls are labelled', (await page.getByLabel('Status', { exact: true }).count()) === 1
      && (await page.getByLabel('Country', { exact: true }).count()) === 1
      && (await page.getByLabel('How Country is matched').count()) === 1);
    const unlabelled = await page.evaluate(() => Array.from(document.querySelectorAll('main input, main select, main button, main a'))
      .filter((c) => c.offsetParent !== null)
      .filter((c) => !(c.getAttribute('aria-label') || (c.labels && Array.from(c.labels).some((l) => l.textContent.trim()))
        || ((c.tagName === 'BUTTON' || c.tagName === 'A') && c.textContent.trim())))
      .map((c) => c.id || c.outerHTML.slice(0, 60)));
    check('every visible control has an accessible name', unlabelled.length === 0, unlabelled);

    // Keyboard: Tab from the top reaches every control in order.
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    const visited = [];
    for (let i = 0; i < 40 && !visited.includes('export-button'); i += 1) {
      await page.keyboard.press('Tab');
      visited.push(await focusedId(page));
    }
    // Every control with an id, in document order (the API's filter order); a
    // date input takes several Tab stops (its segments), so repeats collapse.
    const order = await page.evaluate(() => Array.from(document.querySelectorAll(
      '#export-form select[id], #export-form input[id]:not([type="radio"]), #format-csv, #export-button'), (c) => c.id));
    const seen = visited.filter((id, i) => order.includes(id) && id !== visited[i - 1]);
    check('Tab reaches every form control in order', order.length === 12 && JSON.stringify(seen) === JSON.stringify(order),
      { order, visited });
    await shot(page, '01-form');

    // --- invalid input, explained next to the field --------------------------
    const posts = () => w.requests.filter((r) => r.method === 'POST' && r.url === '/api/exports').length;
    await page.fill('#f-total_cents-min', '12.5');
    await page.click('#export-button');
    await page.locator('#f-total_cents-error').waitFor({ state: 'visible' });
    check('a non-integer is explained next to the field, without asking the API',
      /whole number/.test(await page.textContent('#f-total_cents-error')) && posts() === 0);
    await page.fill('#f-total_cents-min', '50000');
    check('editing the field clears its message', await page.locator('#f-total_cents-error').isHidden());
    await page.fill('#f-total_cents-max', '1000');
    await page.click('#export-button');
    await page.locator('#f-total_cents-error').waitFor({ state: 'visible' });
    const minError = await page.textContent('#f-total_cents-error');
    check('the API\'s 400 message appears next to the field it names (filters.total_cents.min)',
      posts() === 1 && /above/.test(minError) && !minError.includes('{'), minError);
    check('the field is marked invalid and focused',
      await page.getAttribute('#f-total_cents-min', 'aria-invalid') === 'true' && await focusedId(page) === 'f-total_cents-min');
    check('a summary says the export was not started', /not started/.test(await page.textContent('#form-error')));
    await shot(page, '02-invalid');
    await page.fill('#f-total_cents-min', '');
    await page.fill('#f-total_cents-max', '');
    await page.fill('#f-created_at-from', '2025-06-30');
    await page.fill('#f-created_at-to', '2025-01-01');
    await page.click('#export-button');
    await page.locator('#f-created_at-error').waitFor({ state: 'visible' });
    check('"from" after "to" is explained next to the dates', /after/.test(await page.textContent('#f-created_at-error'))
      && await focusedId(page) === 'f-created_at-from');
    check('a refused request creates nothing', /No exports yet/.test(await page.textContent('#recent')));

    // --- export with filters: progress, then the download button ----------------
    await page.selectOption('#f-status', ['shipped', 'paid']);
    await page.fill('#f-country', 'DE');
    await page.selectOption('#f-customer_email-mode', 'contains');
    await page.fill('#f-customer_email', 'example.org');
    await page.fill('#f-created_at-from', '2025-01-01');
    await page.fill('#f-created_at-to', '2025-06-30');
    await page.fill('#f-total_cents-min', '1000');
    await page.fill('#f-total_cents-max', '50000');
    await page.getByLabel('CSV', { exact: true }).check();
    await recordPanel(page);
    await page.click('#export-button');
    check('errors are cleared on a valid submit', await page.locator('#f-created_at-error').isHidden());
    await page.locator('#progress').waitFor({ state: 'visible', timeout: 10000 });
    await page.waitForFunction(() => {
      const bar = document.getElementById('progress');
      return (bar && bar.hasAttribute('value') && bar.value > 0) || document.getElementById('download-link');
    }, null, { timeout: 20000 });
    if (await page.locator('#progress').count()) await shot(page, '03-progress');
    const progressText = await page.locator('#progress-text').textContent().catch(() => '');
    await page.locator('#download-link').waitFor({ state: 'visible', timeout: 30000 });
    await page.evaluate(() => window.scrollTo(0, 0));
    const readyShot = await shot(page, '04-ready', false);
    const panel = await page.evaluate(() => window.__panel);
    const percents = panel.map((e) => e.progress).filter((p) => typeof p === 'number');
    check('the progress bar moved through values below 100 %', percents.some((p) => p > 0 && p < 100), percents);
    check('progress text: rows written of the total, with a percentage',
      panel.some((e) => new RegExp(`^\\d+ of ${expected} rows written \\(\\d+(\\.\\d)?%\\)$`).test(e.progressText || '')),
      progressText);

    const href = await page.getAttribute('#download-link', 'href');
    const firstId = href.split('/')[3];
    check('the download button is a plain link to /api/exports/{id}/download',
      /^\/api\/exports\/[A-Za-z0-9_-]{22,32}\/download$/.test(href), href);
    const shownName = (await page.textContent('#file-name')).trim();
    const shownRows = numberIn(await page.textContent('#file-rows'));
    const shownSize = await page.textContent('#file-size');
    const expiresAt = Date.parse(await page.getAttribute('#countdown', 'data-expires-at'));
    const countdown = await page.textContent('#countdown');
    check('the file\'s name is shown', /^orders-\d{8}T\d{6}Z\.csv$/.test(shownName), shownName);
    check('the row count is shown', shownRows === expected, { shownRows, expected });
    check('a live countdown to expires_at', /^Expires in [1-3] s$/.test(countdown), countdown);

    // --- download it and check its rows ---------------------------------------
    const first = await download(page, page.locator('#download-link'), 'first');
    check('the browser saves the file under its name', first.name === shownName, first.name);
    check('the size shown is the file\'s size', shownSize.includes(`(${first.bytes.length.toLocaleString('en')} bytes)`)
      || shownSize === `${first.bytes.length} bytes`, { shownSize, bytes: first.bytes.length });
    const rows = parseCsv(first.bytes.toString('utf8'));
    check('CSV header', JSON.stringify(rows[0]) === JSON.stringify(CSV_HEADER), rows[0]);
    check('the file holds exactly the rows sqlite3 counts', rows.length - 1 === expected, { rows: rows.length - 1, expected });
    const wrong = rows.slice(1).filter((r) => !(['shipped', 'paid'].includes(r[5]) && r[4] === 'DE'
      && r[1] >= '2025-01-01T00:00:00Z' && r[1] < '2025-07-01T00:00:00Z'
      && Number(r[6]) >= 1000 && Number(r[6]) <= 50000 && r[2].toLowerCase().includes('example.org')));
    check('every row matches every filter', wrong.length === 0, wrong.slice(0, 3));
    check('the page is still there after the download', await page.locator('#download-link').isVisible()
      || await page.locator('#expired-message').isVisible());

    // --- expiry: the sentence replaces the button -------------------------------
    await page.locator('#expired-message').waitFor({ state: 'visible', timeout: 15000 });
    await shot(page, '05-expired');
    // Times as the page saw them (its MutationObserver log), not when this script looked.
    const log = await page.evaluate(() => window.__panel);
    const readySeenAt = (log.find((e) => e.download) || {}).t;
    const expiredSeenAt = (log.find((e) => e.expired) || {}).t;
    check('at expiry the expired sentence replaces the download button',
      (await page.textContent('#expired-message')) === EXPIRED_SENTENCE && await page.locator('#download-link').count() === 0);
    check('the expired sentence appears within 1.5 s after expires_at',
      expiredSeenAt - expiresAt < 1500 && expiredSeenAt - expiresAt > -300, { late_ms: expiredSeenAt - expiresAt });
    const seconds = log.map((e) => e.countdown).filter(Boolean).map((t) => t.match(/(\d+) s$/)).filter(Boolean).map((m) => Number(m[1]));
    const distinct = seconds.filter((s, i) => i === 0 || s !== seconds[i - 1]);
    check('the countdown ticked down second by second', distinct.length >= 2
      && distinct.every((s, i) => i === 0 || s === distinct[i - 1] - 1), distinct);
    check('the expired state came about retention seconds after the page saw ready',
      expiredSeenAt - readySeenAt > 1000 && expiredSeenAt - readySeenAt < (RETENTION + 1.5) * 1000,
      { ms: expiredSeenAt - readySeenAt });
    const firstRow = page.locator(`#recent tr[data-export-id="${firstId}"]`);
    await page.waitForFunction((id) => {
      const row = document.querySelector(`#recent tr[data-export-id="${id}"]`);
      return row && row.dataset.status === 'expired';
    }, firstId, { timeout: 5000 }).catch(() => {});
    check('the recent list shows the export as expired', (await firstRow.locator('.badge').textContent()) === 'Expired');

    // Polling honoured Retry-After (1 s) while the export ran.
    const polls = w.requests.filter((r) => r.method === 'GET' && r.url === `/api/exports/${firstId}` && r.t < readySeenAt)
      .map((r) => r.t);
    const gaps = polls.slice(1).map((t, i) => t - polls[i]);
    check('status polls are spaced by Retry-After (>= ~1 s)', gaps.length >= 2 && gaps.every((g) => g >= 900), gaps);

    // --- "Generate a new export", from the keyboard ------------------------------
    const regenerate = page.getByRole('button', { name: 'Generate a new export' });
    check('"Generate a new export" is offered', await regenerate.isVisible());
    const summaryBefore = await page.textContent('#current .filters-summary');
    await regenerate.focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction((old) => {
      const link = document.getElementById('download-link');
      return link && !link.getAttribute('href').includes(old);
    }, firstId, { timeout: 30000 });
    const secondHref = await page.getAttribute('#download-link', 'href');
    const secondId = secondHref.split('/')[3];
    const second = await download(page, page.locator('#download-link'), 'second');
    const log2 = await page.evaluate(() => window.__panel);
    check('the new export showed its progress too', log2.some((e) => e.progressText && e.t > expiredSeenAt));
    check('a new export with a new id and a new download', secondId !== firstId && second.bytes.length > 0);
    check('it has the same dataset, format and filters (same rows)', second.bytes.equals(first.bytes)
      && (await page.textContent('#current .filters-summary')) === summaryBefore);

    // --- "Delete now" in the recent list ---------------------------------------
    const secondRow = page.locator(`#recent tr[data-export-id="${secondId}"]`);
    await secondRow.getByRole('button', { name: /^Delete now/ }).click({ timeout: 3000 });
    await page.locator('#deleted-message').waitFor({ state: 'visible', timeout: 5000 });
    check('"Delete now" deletes the file: the panel says so', (await page.textContent('#deleted-message')) === DELETED_SENTENCE);
    await page.waitForFunction((id) => {
      const row = document.querySelector(`#recent tr[data-export-id="${id}"]`);
      return row && row.dataset.status === 'deleted';
    }, secondId, { timeout: 5000 }).catch(() => {});
    check('the list shows it as deleted', (await secondRow.locator('.badge').textContent()) === 'Deleted');
    const gone = await page.request.get(`${base}${secondHref}`, { failOnStatusCode: false });
    check('its download link now answers 410', gone.status() === 410, gone.status());
    await shot(page, '06-deleted');

    // --- 429, readable; the list refreshes while exports run; cancel ------------
    await page.reload({ waitUntil: 'domcontentloaded' });
    await page.locator('#export-form').waitFor({ state: 'visible' });
    await page.getByLabel('NDJSON (JSON lines)').check();
    await page.click('#export-button');
    await page.locator('#progress').waitFor({ state: 'visible' });
    const ndjsonId = (await page.getAttribute('#recent tr.is-current', 'data-export-id', { timeout: 5000 }));
    await page.getByLabel('Excel (XLSX)').check();
    await page.click('#export-button');
    await page.waitForFunction((id) => {
      const row = document.querySelector('#recent tr.is-current');
      return row && row.dataset.exportId !== id;
    }, ndjsonId, { timeout: 5000 });
    await page.getByLabel('CSV', { exact: true }).check();
    await page.click('#export-button');
    await page.locator('#form-error').waitFor({ state: 'visible' });
    const tooMany = await page.textContent('#form-error');
    check('429 is shown as the API\'s sentence, not JSON',
      new RegExp(`already have ${MAX_ACTIVE} exports in progress`).test(tooMany) && !/[{}]/.test(tooMany), tooMany);
    await shot(page, '07-too-many');
    const ndjsonRow = page.locator(`#recent tr[data-export-id="${ndjsonId}"] .details-cell`);
    const before = await ndjsonRow.textContent();
    await sleep(2600);
    const after = await ndjsonRow.textContent();
    check('the list refreshes while exports are active', before !== after && /rows written/.test(after), { before, after });
    const cancels = page.locator('#recent').getByRole('button', { name: /^Cancel / });
    check('running exports offer Cancel in the list', await cancels.count() === 2);
    while (await cancels.count()) {
      const n = await cancels.count();
      await cancels.first().click();
      await page.waitForFunction((k) => document.querySelectorAll('#recent button[aria-label^="Cancel "]').length < k, n,
        { timeout: 5000 });
    }
    check('cancelled exports are listed as deleted',
      await page.locator('#recent tr[data-status="deleted"]').count() >= 3);
    await sleep(500);
    const quietFrom = Date.now();
    await sleep(3000);
    const late = w.requests.filter((r) => r.t > quietFrom && r.url.startsWith('/api/'));
    check('polling stops when nothing is active', late.length === 0, late.map((r) => `${r.method} ${r.url}`));

    // --- readable errors that a test stack cannot easily produce (mocked) ---------
    await page.route('**/api/exports', (route) => (route.request().method() !== 'POST' ? route.continue()
      : route.fulfill({
        status: 507, contentType: 'application/json', headers: { 'Cache-Control': 'no-store' },
        body: JSON.stringify({ error: 'insufficient_storage', message: 'The export storage has reached its quota. Please try again once older exports expire.' }),
      })));
    await page.click('#export-button');
    await page.waitForFunction(() => /quota/.test(document.getElementById('form-error').textContent));
    check('507 is shown as a sentence', (await page.textContent('#form-error')).startsWith('The export storage has reached its quota'));
    await shot(page, '08-storage-full');
    await page.unroute('**/api/exports');
    await page.route('**/api/exports', (route) => (route.request().method() !== 'POST' ? route.continue()
      : route.fulfill({
        status: 502, contentType: 'text/html',
        body: '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>',
      })));
    await page.click('#export-button');
    await page.waitForFunction(() => /502/.test(document.getElementById('form-error').textContent));
    const badGateway = await page.textContent('#form-error');
    check('an nginx HTML error page becomes a sentence', /unavailable/.test(badGateway) && !badGateway.includes('<'), badGateway);
    await page.unroute('**/api/exports');
    const fakeId = 'AAAAAAAAAAAAAAAAAAAAAA';
    const fake = {
      id: fakeId, dataset: 'orders', format: 'csv', filters: {}, retention_seconds: RETENTION,
      created_at: new Date().toISOString(), download_count: 0,
      links: { self: `/api/exports/${fakeId}`, download: `/api/exports/${fakeId}/download`, regenerate: `/api/exports/${fakeId}/regenerate` },
    };
    await page.route('**/api/exports', (route) => (route.request().method() !== 'POST' ? route.continue()
      : route.fulfill({ status: 202, contentType: 'application/json', headers: { 'Retry-After': '1' },
        body: JSON.stringify({ ...fake, status: 'queued', progress: { rows_written: 0, rows_total: null, percent: null } }) })));
    await page.route(`**/api/exports/${fakeId}`, (route) => route.fulfill({ status: 200, contentType: 'application/json',
      body: JSON.stringify({ ...fake, status: 'failed', error: { code: 'disk_full', message: 'The export disk is full.' } }) }));
    await page.click('#export-button');
    await page.locator('#current .notice.error', { hasText: 'The export failed' }).waitFor({ state: 'visible', timeout: 5000 });
    check('a failed export shows its error message and a way to try again',
      (await page.textContent('#current .notice.error')) === 'The export failed: The export disk is full.'
      && await page.getByRole('button', { name: 'Try again' }).isVisible());
    await shot(page, '09-failed');
    await page.unrouteAll({ behavior: 'ignoreErrors' });

    // --- hygiene ------------------------------------------------------------------
    check('no request left the origin (no CDN, nothing external)', w.external.length === 0, w.external);
    check('no JavaScript errors', w.pageErrors.length === 0, w.pageErrors);
    const leaked = w.console.filter((m) => /example\.org|shipped|"DE"/.test(m));
    check('filter values never reach the console', leaked.length === 0, leaked);
    check('no filter values in any URL the page requested',
      !w.requests.some((r) => /example\.org|shipped/.test(r.url)));
    return readyShot;
  } finally {
    await context.close().catch(() => {});
  }
}

// ------------------------------------------------------------------ a wrong client clock
// The countdown must follow the server's view (expires_in_seconds), not a
// client clock that is off by offsetMs.
async function skewScenario(browser, stack, offsetMs) {
  const base = stack.base_url;
  const label = `client clock ${Math.abs(offsetMs / 1000)} s ${offsetMs > 0 ? 'fast' : 'slow'}`;
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US', timezoneId: 'UTC' });
  await context.addInitScript((offset) => {
    const real = Date.now.bind(Date);
    Date.now = () => real() + offset;
  }, offsetMs);
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  const w = watch(page, base);
  try {
    await page.goto(`${base}/`, { waitUntil: 'domcontentloaded', timeout: 15000 });
    await page.locator('#export-form').waitFor({ state: 'visible' });
    check(`${label}: the page's Date.now() is off`, Math.abs(await page.evaluate(() => Date.now() - (performance.timeOrigin + performance.now())) - offsetMs) < 1000);
    await page.selectOption('#f-status', ['cancelled']);
    await page.fill('#f-country', 'SE');
    await page.fill('#f-created_at-from', '2025-01-01');
    await page.fill('#f-created_at-to', '2025-06-30');
    await recordPanel(page);
    await page.click('#export-button');
    await page.locator('#download-link').waitFor({ state: 'visible', timeout: 30000 });
    const countdown = await page.textContent('#countdown');
    const expiresAt = Date.parse(await page.getAttribute('#countdown', 'data-expires-at'));
    check(`${label}: the countdown still shows the server's time left`, /^Expires in [1-3] s$/.test(countdown), countdown);
    await page.locator('#expired-message').waitFor({ state: 'visible', timeout: 15000 });
    const log = await page.evaluate(() => window.__panel);
    const expiredSeenAt = (log.find((e) => e.expired) || {}).t;
    check(`${label}: expired shown on time (within 1.5 s after expires_at)`,
      expiredSeenAt - expiresAt < 1500 && expiredSeenAt - expiresAt > -300, { late_ms: expiredSeenAt - expiresAt });
    check(`${label}: no JavaScript errors`, w.pageErrors.length === 0, w.pageErrors);
  } finally {
    await context.close().catch(() => {});
  }
}

// ------------------------------------------------------------------ behind basic auth
async function authScenario(browser, stack) {
  const base = stack.base_url;
  const expected = sqliteCount(stack.demo_db, AUTH_SQL);
  const anonymous = await browser.newContext();
  try {
    const r = await anonymous.request.get(`${base}/`, { failOnStatusCode: false });
    check('basic auth is in front of the page', r.status() === 401, r.status());
  } finally {
    await anonymous.close().catch(() => {});
  }
  const context = await browser.newContext({
    acceptDownloads: true, httpCredentials: AUTH_USER, viewport: { width: 1280, height: 900 },
    locale: 'en-US', timezoneId: 'UTC',
  });
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  const w = watch(page, base);
  try {
    await page.goto(`${base}/`, { waitUntil: 'domcontentloaded', timeout: 15000 });
    await page.locator('#export-form').waitFor({ state: 'visible' });
    check('with basic auth: the page loads the datasets', (await page.locator('#dataset option').count()) >= 1);
    await page.selectOption('#f-status', ['refunded']);
    await page.fill('#f-country', 'FR');
    await page.getByLabel('NDJSON (JSON lines)').check();
    await page.click('#export-button');
    await page.locator('#download-link').waitFor({ state: 'visible', timeout: 30000 });
    const got = await download(page, page.locator('#download-link'), 'auth');
    const lines = got.bytes.toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    check('with basic auth: export, download, rows as sqlite3 counts',
      lines.length === expected && lines.every((o) => o.status === 'refunded' && o.country === 'FR'),
      { rows: lines.length, expected });
    await page.locator('#recent tr.is-current').waitFor({ state: 'visible', timeout: 5000 });
    check('with basic auth: the list shows the signed-in owner\'s export',
      (await page.locator('#recent tbody tr').count()) === 1);
    await shot(page, '10-basic-auth');
    await page.setViewportSize({ width: 420, height: 900 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    check('on a narrow screen the page does not scroll sideways', overflow <= 0, overflow);
    await shot(page, '11-narrow');
    check('with basic auth: no JavaScript errors', w.pageErrors.length === 0, w.pageErrors);
  } finally {
    await context.close().catch(() => {});
  }
}

// ------------------------------------------------------------------ main
async function main() {
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(OUT, { recursive: true });
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  const [plain, auth] = await Promise.all([
    startStack(['--retention', String(RETENTION), '--rows', '20000', '--name', 'browser',
      '--set', `export_rows_per_second=${RATE}`, '--set', `max_active_exports_per_owner=${MAX_ACTIVE}`]),
    startStack(['--retention', String(RETENTION), '--rows', '20000', '--name', 'browser-auth',
      '--set', 'export_rows_per_second=50', '--user', `${AUTH_USER.username}:${AUTH_USER.password}`]),
  ]);
  console.log(`# stacks: ${plain.base_url} and ${auth.base_url} (basic auth)`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60000 });
  try {
    let readyShot = null;
    await scenario('export, progress, download, countdown, expiry, regenerate, delete, errors', async () => {
      readyShot = await mainScenario(browser, plain);
    });
    await scenario('client clock 45 s slow', () => skewScenario(browser, plain, -45000));
    await scenario('client clock 45 s fast', () => skewScenario(browser, plain, 45000));
    await scenario('behind basic auth', () => authScenario(browser, auth));
    if (readyShot && process.env.EXPORTD_UPDATE_DOCS_SCREENSHOT === '1') {
      fs.mkdirSync(path.join(ROOT, 'docs'), { recursive: true });
      fs.copyFileSync(readyShot, path.join(ROOT, 'docs', 'page-ready.png'));
      console.log('# copied the ready-state screenshot to docs/page-ready.png');
    }
  } finally {
    await browser.close().catch(() => {});
  }
}

const watchdog = setTimeout(() => {
  failed += 1;
  console.log(`not ok - the browser test did not finish within ${TOTAL_TIMEOUT_MS / 1000} s`);
  for (const child of stacks) child.kill('SIGTERM');
  summary();
  process.exit(1);
}, TOTAL_TIMEOUT_MS);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const child of stacks) child.kill('SIGTERM');
    process.exit(1);
  });
}

main()
  .catch((e) => {
    failed += 1;
    console.log(`not ok - set-up: ${(e && e.stack) || e}`);
  })
  .then(() => stopStacks())
  .then(() => {
    clearTimeout(watchdog);
    if (passed + failed === 0) failed = 1;
    console.log(`# screenshots in ${OUT}`);
    summary();
    process.exit(failed ? 1 : 0);
  });
