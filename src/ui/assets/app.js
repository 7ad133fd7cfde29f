// The /ui page of metrics-governor: draws /api/v1/cardinality (now) and
// /api/v1/cardinality/history (the last hour) and refreshes itself. Every string from the data
// (metric names, label names and values, rules) goes into the page as text: textContent and
// attribute values only, never HTML. Charts are plain SVG built with createElementNS.
// With tenants (GET /api/v1/tenants lists more than the default one) a selector scopes the table,
// the per-metric view and their history to one tenant (?tenant= on both APIs), and the chart of
// active series to the tenant's (tenantSeries); the rates are the daemon's, over every tenant. In cluster mode the cluster's count of a
// metric (clusterValue) is shown beside this replica's.
'use strict';

const REFRESH_MS = 5000;
const SVG = 'http://www.w3.org/2000/svg';
const TOKEN_KEY = 'metrics-governor-token';
const state = { sort: { key: 'value', dir: -1 }, filter: '', top: [], history: null, timer: 0,
  tenant: '', tenants: [], cluster: false };

const $ = (id) => document.getElementById(id);

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = String(text);
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  return e;
}

function fmt(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  if (Math.abs(n) >= 1e6) return (n / 1e6).toFixed(n >= 1e7 ? 0 : 1) + 'M';
  if (Math.abs(n) >= 1e4) return (n / 1e3).toFixed(n >= 1e5 ? 0 : 1) + 'k';
  if (!Number.isInteger(n)) return n.toFixed(n < 10 ? 1 : 0);
  return String(n);
}

function timeText(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

class AuthError extends Error {}

async function getJSON(path) {
  const headers = { Accept: 'application/json' };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = 'Bearer ' + token;
  const res = await fetch(path, { headers, cache: 'no-store', credentials: 'same-origin' });
  if (res.status === 401) throw new AuthError('credentials needed');
  const body = await res.json().catch(() => null);
  if (!res.ok && res.status !== 404) {
    throw new Error((body && body.error) || ('HTTP ' + res.status + ' from ' + path));
  }
  return { status: res.status, body };
}

function setStatus(text, error) {
  const s = $('status');
  s.textContent = text;
  s.classList.toggle('error', !!error);
}

function setBar(span, value, limit) {
  const ratio = limit > 0 ? Math.min(value / limit, 1) : 0;
  span.style.width = (ratio * 100).toFixed(1) + '%';
  span.className = ratio >= 1 ? 'full' : ratio >= 0.8 ? 'warn' : '';
}

function barCell(value, limit) {
  const td = el('td');
  if (limit > 0) {
    const bar = el('div', { class: 'bar', title: Math.round((100 * value) / limit) + '% of the limit' });
    const span = el('span');
    bar.appendChild(span);
    setBar(span, value, limit);
    td.appendChild(bar);
  } else {
    td.textContent = 'no limit';
    td.className = 'note';
  }
  return td;
}

function sparkline(values) {
  const s = svg('svg', { class: 'spark', viewBox: '0 0 100 24', preserveAspectRatio: 'none' });
  const pts = values.map((v, i) => [i, v]).filter(([, v]) => v !== null);
  if (pts.length === 0) return s;
  const max = Math.max(1, ...pts.map(([, v]) => v));
  const n = Math.max(1, values.length - 1);
  const coords = pts.map(([i, v]) => `${((100 * i) / n).toFixed(1)},${(22 - (20 * v) / max + 1).toFixed(1)}`);
  if (coords.length === 1) coords.push(coords[0].replace(/^[^,]*/, '100'));
  s.appendChild(svg('polyline', { points: coords.join(' ') }));
  // A value in the newest sample only would be a line of no length: a dot shows it.
  if (pts.length === 1) {
    const [cx, cy] = coords[0].split(',');
    s.appendChild(svg('circle', { cx, cy, r: 2 }));
  }
  return s;
}

// A line chart: `lines` is [{label, values}] aligned with `times`; `cap` draws a dashed limit.
function lineChart(container, times, lines, cap) {
  const W = 800, H = 220, L = 48, R = 8, T = 10, B = 24;
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img' });
  const all = lines.flatMap((l) => l.values.filter((v) => v !== null));
  let max = Math.max(1, ...all, cap > 0 ? cap : 0);
  max = max * 1.05;
  const x = (i) => L + ((W - L - R) * i) / Math.max(1, times.length - 1);
  const y = (v) => T + (H - T - B) * (1 - v / max);
  root.appendChild(svg('line', { class: 'axis', x1: L, y1: H - B, x2: W - R, y2: H - B }));
  for (const f of [0, 0.5, 1]) {
    const v = max * f;
    root.appendChild(svg('line', { class: 'axis', x1: L, y1: y(v), x2: W - R, y2: y(v), 'stroke-opacity': 0.5 }));
    const t = svg('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end' });
    t.textContent = fmt(Math.round(v));
    root.appendChild(t);
  }
  if (times.length > 0) {
    const first = svg('text', { x: L, y: H - 6 });
    first.textContent = timeText(times[0]);
    const last = svg('text', { x: W - R, y: H - 6, 'text-anchor': 'end' });
    last.textContent = timeText(times[times.length - 1]);
    root.append(first, last);
  }
  if (cap > 0) root.appendChild(svg('line', { class: 'cap', x1: L, y1: y(cap), x2: W - R, y2: y(cap) }));
  lines.forEach((l, k) => {
    const pts = [];
    l.values.forEach((v, i) => { if (v !== null) pts.push(`${x(i).toFixed(1)},${y(v).toFixed(1)}`); });
    if (pts.length === 1) {
      const [cx, cy] = pts[0].split(',');
      root.appendChild(svg('circle', { class: 'dot c' + (k % 7), cx, cy, r: 3 }));
      pts.push(pts[0]);
    }
    if (pts.length) root.appendChild(svg('polyline', { class: 'line c' + (k % 7), points: pts.join(' ') }));
  });
  const legend = el('div', { class: 'legend' });
  lines.forEach((l, k) => {
    const item = el('span');
    item.appendChild(el('i', { class: 'c' + (k % 7) }));
    item.appendChild(document.createTextNode(l.label));
    legend.appendChild(item);
  });
  if (cap > 0) legend.appendChild(el('span', {}, 'dashed: limit ' + fmt(cap)));
  if (times.length < 2) legend.appendChild(el('span', {}, 'history fills in as samples are taken'));
  container.replaceChildren(root, legend);
}

// What the ring covers once full, e.g. "1 h" for 240 samples at 15 s.
function span(h) {
  const seconds = h.intervalSeconds * h.capacity;
  if (seconds === 3600) return '1 h';
  return seconds >= 3600 ? (seconds / 3600).toFixed(1) + ' h' : Math.round(seconds / 60) + ' min';
}

function last(arr) {
  return arr && arr.length ? arr[arr.length - 1] : null;
}

// --- overview ---

// What a metric's limit is measured against: in cluster mode a shared limit counts every
// replica's series, so the cluster's count when known.
function held(m) {
  return m.clusterValue === undefined ? m.value : m.clusterValue;
}

function renderTopTable() {
  const tbody = $('top-table').querySelector('tbody');
  const filter = state.filter.toLowerCase();
  const spark = new Map();
  for (const m of (state.history && state.history.metrics) || []) spark.set(m.name, m.activeSeries);
  const rows = state.top
    .map((m) => ({ ...m, use: m.limit > 0 ? held(m) / m.limit : -1 }))
    .filter((m) => !filter || m.name.toLowerCase().includes(filter));
  const { key, dir } = state.sort;
  rows.sort((a, b) => (a[key] < b[key] ? -dir : a[key] > b[key] ? dir : 0));
  const out = rows.map((m) => {
    const tr = el('tr');
    tr.dataset.metric = m.name;
    const name = el('td', { class: 'name' });
    name.appendChild(el('a', { href: metricHash(m.name) }, m.name));
    tr.append(name, el('td', { class: 'num active' }, fmt(m.value)));
    if (state.cluster) {
      tr.appendChild(el('td', { class: 'num cluster', title: 'active series over every replica, as Redis last reported' },
        m.clusterValue === undefined ? '–' : fmt(m.clusterValue)));
    }
    const use = barCell(held(m), m.limit);
    use.classList.add('use');
    tr.append(el('td', { class: 'num limit' }, m.limit > 0 ? fmt(m.limit) : '–'), use,
      el('td', { class: 'num dropped' }, fmt(m.droppedSeries)), el('td', { class: 'rule' }, m.rule || '–'));
    const s = el('td');
    s.appendChild(sparkline(spark.get(m.name) || []));
    tr.appendChild(s);
    return tr;
  });
  tbody.replaceChildren(...out);
  $('cluster-head').hidden = !state.cluster;
  for (const th of $('top-table').querySelectorAll('th[data-key]')) {
    th.classList.toggle('sorted-asc', th.dataset.key === key && dir > 0);
    th.classList.toggle('sorted-desc', th.dataset.key === key && dir < 0);
  }
  $('top-note').textContent = `${rows.length} of ${state.top.length} metrics shown`;
}

// The tenant selector: shown when the daemon knows more than the default tenant. Options are
// built as text; the selected one follows the URL.
function renderTenants() {
  const sel = $('tenant');
  const list = state.tenants;
  $('tenant-pick').hidden = list.length < 2;
  // Rebuilt only when the list or the choice changed, so a refresh does not close it while open.
  const key = JSON.stringify([state.tenant, list.map((t) => [t.default, t.name])]);
  if (sel.dataset.key === key) return;
  sel.dataset.key = key;
  const opts = list.map((t) => {
    const o = el('option', { value: t.default ? '' : t.name }, t.name + (t.default ? ' (default)' : ''));
    o.selected = (t.default ? '' : t.name) === state.tenant;
    return o;
  });
  if (state.tenant && !list.some((t) => !t.default && t.name === state.tenant)) {
    const o = el('option', { value: state.tenant }, state.tenant + ' (unknown)');
    o.selected = true;
    opts.push(o);
  }
  sel.replaceChildren(...opts);
}

async function loadTenants() {
  const res = await getJSON('/api/v1/tenants');
  state.tenants = (res.status === 200 && res.body.data.tenants) || [];
  renderTenants();
}

async function loadOverview() {
  const t = tenantQuery();
  const [now, hist] = await Promise.all([
    getJSON('/api/v1/cardinality?limit=100' + t),
    getJSON('/api/v1/cardinality/history?limit=100' + t),
    loadTenants(),
  ]);
  if (now.status === 404) throw new Error((now.body && now.body.error) || 'no such tenant');
  const d = now.body.data;
  const h = hist.body.data;
  state.top = d.seriesCountByMetricName;
  state.history = h;
  state.cluster = !!d.cluster;
  const scoped = state.tenant !== '' && d.tenant;
  $('scope').textContent = scoped ? 'tenant ' + d.tenant.name : '';
  $('scope').hidden = !scoped;
  $('total-series').textContent = fmt(d.totalSeries);
  if (scoped) {
    $('total-cap').textContent = d.tenant.maxSeries > 0 ? 'of the tenant\'s max_series ' + fmt(d.tenant.maxSeries) : 'this tenant has no max_series';
    setBar($('total-bar'), d.totalSeries, d.tenant.maxSeries);
  } else {
    $('total-cap').textContent = h.maxSeries > 0 ? 'of a global cap of ' + fmt(h.maxSeries) : 'no global cap (-limits-max-series)';
    setBar($('total-bar'), d.totalSeries, h.maxSeries);
  }
  // A tenant's metric names from /api/v1/tenants; the daemon's trackers otherwise.
  const entry = scoped ? state.tenants.find((t) => !t.default && t.name === state.tenant) : null;
  $('trackers').textContent = fmt(entry ? entry.metrics : d.trackers);
  $('mode').textContent = [d.dryRun ? 'dry run: nothing is dropped' : '', d.cluster ? 'cluster mode: this replica (cluster counts beside it)' : '']
    .filter(Boolean).join('; ');
  const everyTenant = state.tenants.length > 1 ? ' (all tenants)' : '';
  $('kept-note').textContent = 'series passed to the backend' + everyTenant;
  const samples = h.timestamps.length;
  $('kept-rate').textContent = samples > 1 ? fmt(last(h.keptPerSecond)) : '–';
  let dropped = 0;
  const reasons = [];
  for (const [reason, values] of Object.entries(h.droppedPerSecond)) {
    const v = last(values) || 0;
    dropped += v;
    if (v > 0) reasons.push(reason + ' ' + fmt(v));
  }
  $('dropped-rate').textContent = samples > 1 ? fmt(dropped) : '–';
  $('dropped-reasons').textContent = reasons.join(', ') || (samples > 1 ? 'nothing dropped' : 'needs two samples');
  if (scoped && h.tenantSeries) {
    $('total-chart-title').textContent = 'Active series of the tenant (history: up to ' + span(h) + ')';
    lineChart($('total-chart'), h.timestamps, [{ label: 'active series', values: h.tenantSeries }], d.tenant.maxSeries);
  } else {
    $('total-chart-title').textContent = 'Active series' + everyTenant + ' (history: up to ' + span(h) + ')';
    lineChart($('total-chart'), h.timestamps, [{ label: 'active series', values: h.totalSeries }], h.maxSeries);
  }
  renderTopTable();
}

// --- one metric ---

async function loadMetric(name) {
  const q = encodeURIComponent(name) + tenantQuery();
  const [now, hist] = await Promise.all([
    getJSON('/api/v1/cardinality?limit=1&metric=' + q),
    getJSON('/api/v1/cardinality/history?limit=1&metric=' + q),
    loadTenants(),
  ]);
  $('metric-name').textContent = name;
  $('metric-tenant').textContent = state.tenant ? 'tenant ' + state.tenant : '';
  $('metric-tenant').hidden = !state.tenant;
  $('back').setAttribute('href', overviewHash());
  const h = hist.body.data;
  const m = now.status === 404 ? null : now.body.data.metric;
  if (m) {
    $('metric-active').textContent = fmt(m.value);
    $('metric-limit').textContent = m.limit > 0 ? fmt(m.limit) : 'none';
    $('metric-rule').textContent = m.rule ? 'rule: ' + m.rule : 'no rule applies';
    setBar($('metric-bar'), held(m), m.limit);
    $('metric-dropped').textContent = fmt(m.droppedSeries);
    $('metric-dropped-points').textContent = fmt(m.droppedDatapoints) + ' data points';
    $('metric-cluster-card').hidden = !now.body.data.cluster;
    $('metric-cluster').textContent = m.clusterValue === undefined ? '–' : fmt(m.clusterValue);
    $('metric-cluster-note').textContent = m.clusterValue === undefined
      ? 'not known yet (no shared limit, or no new series since this replica started)'
      : 'over every replica, as Redis last reported; this replica: ' + fmt(m.value);
  } else {
    $('metric-cluster-card').hidden = true;
    $('metric-active').textContent = '0';
    $('metric-limit').textContent = '–';
    $('metric-rule').textContent = 'no active series now';
    $('metric-dropped').textContent = '–';
    $('metric-dropped-points').textContent = '';
  }
  const mh = h.metric;
  lineChart($('metric-chart'), h.timestamps, [{ label: 'active series', values: mh ? mh.activeSeries : [] }], m ? m.limit : 0);
  // Only the reasons this metric was dropped for; one flat line when there were none.
  let drops = mh ? Object.entries(mh.droppedSeries).map(([label, values]) => ({ label, values })) : [];
  const any = drops.filter((d) => d.values.some((v) => v > 0));
  drops = any.length ? any : [{ label: 'no drops', values: drops.length ? drops[0].values : [] }];
  $('drops-title').textContent = `Dropped series per ${h.intervalSeconds} s, by reason`;
  lineChart($('drops-chart'), h.timestamps, drops, 0);

  const labels = m ? now.body.data.labelValueCountByLabelName : [];
  const top = Math.max(1, ...labels.map((l) => l.value));
  $('labels-table').querySelector('tbody').replaceChildren(...labels.map((l) => {
    const tr = el('tr');
    tr.append(el('td', { class: 'name' }, l.name), el('td', { class: 'num' }, fmt(l.value)), barCell(l.value, top));
    return tr;
  }));

  const tbody = $('samples-table').querySelector('tbody');
  if (!h.droppedSamplesEnabled) {
    $('samples-note').textContent = 'Off: start the daemon with -ui-show-dropped-samples to keep a sample of dropped series (label values cut short).';
    tbody.replaceChildren();
    return;
  }
  const list = (h.droppedSamples || []).slice(0, 20);
  $('samples-note').textContent = list.length ? 'Newest first; label values cut to 32 bytes.' : 'No dropped series sampled for this metric.';
  tbody.replaceChildren(...list.map((d) => {
    const tr = el('tr');
    const text = d.labels.map((l) => `${l.name}="${l.value}"`).join(', ') + (d.labelsCut ? ', …' : '');
    tr.append(el('td', {}, timeText(d.time)), el('td', {}, d.reason), el('td', { class: 'labels' }, '{' + text + '}'));
    return tr;
  }));
}

// --- routing and refresh ---

// Routes: #/ (the default tenant), #/metric/NAME, #/t/TENANT and #/t/TENANT/metric/NAME.
function decode(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

function parseHash() {
  const m = location.hash.match(/^#\/(?:t\/([^/]*)\/?)?(?:metric\/(.*))?$/);
  if (!m) return { tenant: '', metric: null };
  return { tenant: (m[1] && decode(m[1])) || '', metric: m[2] === undefined ? null : decode(m[2]) };
}

function overviewHash() {
  return state.tenant ? '#/t/' + encodeURIComponent(state.tenant) : '#/';
}

function metricHash(name) {
  return (state.tenant ? '#/t/' + encodeURIComponent(state.tenant) + '/' : '#/') + 'metric/' + encodeURIComponent(name);
}

function tenantQuery() {
  return state.tenant ? '&tenant=' + encodeURIComponent(state.tenant) : '';
}

async function refresh() {
  clearTimeout(state.timer);
  const route = parseHash();
  state.tenant = route.tenant;
  const metric = route.metric;
  $('overview').hidden = metric !== null;
  $('metric').hidden = metric === null;
  try {
    if (metric === null) await loadOverview();
    else await loadMetric(metric);
    $('auth').hidden = true;
    setStatus('updated ' + timeText(Date.now()) + ' · refreshes every ' + REFRESH_MS / 1000 + ' s');
  } catch (e) {
    if (e instanceof AuthError) {
      $('auth').hidden = false;
      setStatus('credentials needed', true);
    } else {
      setStatus('update failed: ' + e.message, true);
    }
  }
  state.timer = setTimeout(refresh, REFRESH_MS);
}

function init() {
  for (const th of $('top-table').querySelectorAll('th[data-key]')) {
    th.addEventListener('click', () => {
      const key = th.dataset.key;
      state.sort = state.sort.key === key ? { key, dir: -state.sort.dir } : { key, dir: key === 'name' || key === 'rule' ? 1 : -1 };
      renderTopTable();
    });
  }
  $('tenant').addEventListener('change', (e) => {
    state.tenant = e.target.value;
    location.hash = overviewHash();
  });
  $('filter').addEventListener('input', (e) => {
    state.filter = e.target.value;
    renderTopTable();
  });
  $('auth').addEventListener('submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('auth-token').value.trim());
    $('auth-token').value = '';
    refresh();
  });
  window.addEventListener('hashchange', refresh);
  refresh();
}

init();
