// ui_check.mjs: drives the system chromium (headless, through puppeteer-core) over the /ui page
// of a running metrics-governor for tests/integration/ui_e2e_test.cpp, and prints one JSON line
// with what it saw: the test asserts on it. Usage: node ui_check.mjs SPEC.json, where SPEC is
//   {"base": "http://127.0.0.1:PORT", "token": "" | "TOKEN", "metric": exploding metric,
//    "hostile": a hostile metric name, "screenshots": {"overview": path, "metric": path,
//    "phone": path}, "chromium": "/usr/bin/chromium", "basic": {"username", "password"} | absent,
//    "tenants": [{"name": tenant, "metric": a metric only that tenant sends}] | absent}
// With "tenants" the tenant selector is checked instead of the explosion (checkTenants).
// With a token the page must first ask for it (the data APIs answer 401) and is given it through
// its form, as an operator would. With basic credentials the browser is given them when the
// data APIs challenge it (what an operator types into the browser's prompt). Exits 0 after printing the result, 1 on an error (printed).
import { readFileSync } from 'node:fs';
import puppeteer from 'puppeteer-core';

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const result = { dialogs: [], pageErrors: [], requests: [] };

// The explosion on the default tenant: overview, sort and filter, the metric's view, the hostile
// metric's view, a phone.
async function checkExplosion(page) {
  // The overview is drawn, the exploding metric has drops and the rates have two samples.
  await page.waitForFunction(
    (metric) => {
      const row = document.querySelector(`#top-table tbody tr`);
      const rate = document.getElementById('dropped-rate').textContent;
      return row && [...document.querySelectorAll('#top-table tbody tr')]
        .some((r) => r.dataset.metric === metric && r.querySelector('td.dropped').textContent !== '0') &&
        rate !== '–' && rate !== '0';
    },
    { timeout: 30000 },
    spec.metric,
  );
  Object.assign(result, await page.evaluate((hostile) => {
    const rows = [...document.querySelectorAll('#top-table tbody tr')];
    const hostileRow = rows.find((r) => r.dataset.metric === hostile);
    return {
      topMetric: rows[0] && rows[0].dataset.metric,
      metrics: rows.map((r) => r.dataset.metric),
      droppedOfTop: rows[0] && rows[0].querySelector('td.dropped').textContent,
      limitOfTop: rows[0] && rows[0].querySelector('td.limit').textContent,
      clusterOfTop: rows[0] && rows[0].querySelector('td.cluster') ? rows[0].querySelector('td.cluster').textContent : null,
      clusterHead: !document.getElementById('cluster-head').hidden,
      activeOfTop: rows[0] && rows[0].querySelector('td.active').textContent,
      droppedRate: document.getElementById('dropped-rate').textContent,
      totalSeries: document.getElementById('total-series').textContent,
      hostileText: hostileRow ? hostileRow.querySelector('a').textContent : null,
      scripts: document.querySelectorAll('script').length,
      injected: document.querySelectorAll('img, iframe, object, embed, main script').length,
      pwned: window.__pwned === undefined ? null : String(window.__pwned),
      status: document.getElementById('status').textContent,
    };
  }, spec.hostile));
  await page.screenshot({ path: spec.screenshots.overview, fullPage: true });

  // The sort and the filter work on the table.
  await page.type('#filter', spec.metric.slice(0, 8));
  result.filtered = await page.$$eval('#top-table tbody tr', (rows) => rows.map((r) => r.dataset.metric));
  await page.$eval('#filter', (e) => { e.value = ''; e.dispatchEvent(new Event('input')); });
  await page.click('#top-table th[data-key="name"]');
  result.sortedByName = await page.$$eval('#top-table tbody tr', (rows) => rows.map((r) => r.dataset.metric));

  // The exploding metric's own view: the label ranking, the rule, the dropped samples.
  await page.click(`#top-table tbody tr[data-metric="${spec.metric}"] a`);
  await page.waitForFunction(
    () => document.querySelectorAll('#labels-table tbody tr').length > 0 &&
      document.getElementById('metric-rule').textContent.startsWith('rule'),
    { timeout: 20000 },
  );
  Object.assign(result, await page.evaluate(() => ({
    metricName: document.getElementById('metric-name').textContent,
    labels: [...document.querySelectorAll('#labels-table tbody tr')].map((r) => r.children[0].textContent),
    rule: document.getElementById('metric-rule').textContent,
    limit: document.getElementById('metric-limit').textContent,
    metricDropped: document.getElementById('metric-dropped').textContent,
    samplesNote: document.getElementById('samples-note').textContent,
    samples: [...document.querySelectorAll('#samples-table tbody tr')].map((r) => r.children[2].textContent),
    dropLines: document.querySelectorAll('#drops-chart polyline').length,
    metricClusterShown: !document.getElementById('metric-cluster-card').hidden,
    metricCluster: document.getElementById('metric-cluster').textContent,
    metricActive: document.getElementById('metric-active').textContent,
  })));
  await page.screenshot({ path: spec.screenshots.metric, fullPage: true });

  // The hostile metric's view: its name is text there too.
  await page.goto(spec.base + '/ui#/metric/' + encodeURIComponent(spec.hostile), { waitUntil: 'domcontentloaded' });
  await page.waitForFunction((h) => document.getElementById('metric-name').textContent === h &&
    document.getElementById('metric-active').textContent !== '–', { timeout: 20000 }, spec.hostile);
  result.hostileView = await page.evaluate(() => ({
    name: document.getElementById('metric-name').textContent,
    injected: document.querySelectorAll('img, iframe, object, embed, main script').length,
    pwned: window.__pwned === undefined ? null : String(window.__pwned),
  }));

  // A phone: the overview fits the width (tables scroll inside their card).
  await page.setViewport({ width: 390, height: 844, deviceScaleFactor: 2, isMobile: true });
  await page.goto(spec.base + '/ui', { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#top-table tbody tr');
  result.phoneOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await page.screenshot({ path: spec.screenshots.phone, fullPage: false });
}

// With tenants: the selector lists them as text, switching it switches the table (and its
// history: the sparklines), the scope and the per-metric view follow the tenant, and a hostile
// tenant name is text everywhere.
async function checkTenants(page) {
  const rowsOf = () => [...document.querySelectorAll('#top-table tbody tr')].map((r) => r.dataset.metric);
  const hasRow = (m) => [...document.querySelectorAll('#top-table tbody tr')].some((r) => r.dataset.metric === m);
  await page.waitForFunction(
    (n, m) => !document.getElementById('tenant-pick').hidden &&
      document.querySelectorAll('#tenant option').length >= n &&
      [...document.querySelectorAll('#top-table tbody tr')].some((r) => r.dataset.metric === m),
    { timeout: 30000 }, spec.tenants.length + 1, spec.metric);
  result.tenantOptions = await page.$$eval('#tenant option', (os) => os.map((o) => ({ value: o.value, text: o.textContent })));
  result.defaultMetrics = await page.evaluate(rowsOf);
  result.tenantViews = {};
  for (const t of spec.tenants) {
    await page.select('#tenant', t.name);
    // The tenant's metric is listed with its sparkline: the history is the tenant's too.
    await page.waitForFunction(
      (m) => [...document.querySelectorAll('#top-table tbody tr')]
        .some((r) => r.dataset.metric === m && r.querySelector('svg.spark polyline')),
      { timeout: 30000 }, t.metric);
    result.tenantViews[t.name] = await page.evaluate(() => ({
      hash: location.hash,
      selected: document.getElementById('tenant').value,
      scope: document.getElementById('scope').textContent,
      chartTitle: document.getElementById('total-chart-title').textContent,
      metrics: [...document.querySelectorAll('#top-table tbody tr')].map((r) => r.dataset.metric),
      totalSeries: document.getElementById('total-series').textContent,
      injected: document.querySelectorAll('img, iframe, object, embed, svg[onload], main script').length,
      pwned: window.__pwned === undefined ? null : String(window.__pwned),
    }));
    result.tenantViews[t.name].hasDefaultMetric = await page.evaluate(hasRow, spec.metric);
  }
  await page.screenshot({ path: spec.screenshots.overview, fullPage: true });

  // The first tenant's metric, from its row: the view is scoped to the tenant.
  const first = spec.tenants[0];
  await page.select('#tenant', first.name);
  await page.waitForFunction(hasRow, { timeout: 30000 }, first.metric);
  await page.click(`#top-table tbody tr[data-metric="${first.metric}"] a`);
  await page.waitForFunction(
    (m) => document.getElementById('metric-name').textContent === m &&
      document.querySelectorAll('#labels-table tbody tr').length > 0 &&
      document.getElementById('metric-active').textContent !== '0',
    { timeout: 20000 }, first.metric);
  result.tenantMetricView = await page.evaluate(() => ({
    hash: location.hash,
    name: document.getElementById('metric-name').textContent,
    tenant: document.getElementById('metric-tenant').textContent,
    active: document.getElementById('metric-active').textContent,
    labels: [...document.querySelectorAll('#labels-table tbody tr')].map((r) => r.children[0].textContent),
    back: document.getElementById('back').getAttribute('href'),
  }));
  await page.screenshot({ path: spec.screenshots.metric, fullPage: true });

  // Back to the default tenant through the selector.
  await page.goto(spec.base + '/ui#/t/' + encodeURIComponent(first.name), { waitUntil: 'domcontentloaded' });
  await page.waitForFunction(hasRow, { timeout: 30000 }, first.metric);
  await page.select('#tenant', '');
  await page.waitForFunction(hasRow, { timeout: 30000 }, spec.metric);
  result.backToDefault = await page.evaluate(() => ({ hash: location.hash, scopeHidden: document.getElementById('scope').hidden }));

  await page.setViewport({ width: 390, height: 844, deviceScaleFactor: 2, isMobile: true });
  await page.goto(spec.base + '/ui', { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#top-table tbody tr');
  result.phoneOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await page.screenshot({ path: spec.screenshots.phone, fullPage: false });
}

const browser = await puppeteer.launch({
  executablePath: spec.chromium || '/usr/bin/chromium',
  headless: true,
  // The test's CA is not in chromium's store; the certificate chain itself is tested elsewhere.
  acceptInsecureCerts: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  // An alert() or any dialog would mean script from the data ran.
  page.on('dialog', async (d) => { result.dialogs.push(d.message()); await d.dismiss(); });
  page.on('pageerror', (e) => result.pageErrors.push(String(e)));
  page.on('request', (r) => result.requests.push(r.url()));
  if (spec.basic) await page.authenticate(spec.basic);

  await page.goto(spec.base + '/ui', { waitUntil: 'domcontentloaded' });
  if (spec.token) {
    await page.waitForSelector('#auth:not([hidden])', { timeout: 20000 });
    result.askedForToken = true;
    await page.type('#auth-token', spec.token);
    await page.click('#auth button[type=submit]');
  }
  if (spec.tenants) await checkTenants(page);
  else await checkExplosion(page);
  result.outside = result.requests.filter((u) => !u.startsWith(spec.base)).length;
  delete result.requests;
  console.log(JSON.stringify(result));
} catch (e) {
  console.log(JSON.stringify({ error: String(e && e.stack || e), ...result, requests: undefined }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
