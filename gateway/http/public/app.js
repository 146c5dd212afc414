// The status page: one EventSource on /events, a table rebuilt from the latest state. No framework, no build.
'use strict';

const STATES = ['active', 'asleep', 'awake', 'connecting', 'lost', 'disconnected'];
const clients = new Map();
let radios = [];
let sortKey = 'clientId';
let sortDir = 1;
let stateFilter = new Set(JSON.parse(localStorage.getItem('mqttsn.states') || '[]'));
let search = '';

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

function ago(iso) {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

function duration(seconds) {
  if (!seconds) return '—';
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

function sortValue(c) {
  if (sortKey === 'lastSeenAgo') return -Date.parse(c.lastSeen);
  if (sortKey === 'subscriptions') return c.subscriptions.length;
  if (sortKey === 'address') return `${c.radio} ${c.address}`;
  if (sortKey === 'state') return STATES.indexOf(c.state);
  return c[sortKey];
}

function compare(a, b) {
  const x = sortValue(a);
  const y = sortValue(b);
  const order = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
  return order * sortDir || a.clientId.localeCompare(b.clientId);
}

function renderRadios() {
  $('radios').replaceChildren(...radios.map((r) =>
    el('li', { class: `radio ${r.up ? 'up' : 'down'}`, 'data-radio': r.name },
      el('strong', {}, r.name), ' ', el('span', { class: 'muted' }, r.kind), ' ',
      el('span', { class: 'badge' }, r.up ? 'up' : 'down'),
      el('div', { class: 'frames' }, `${r.framesIn.toLocaleString()} in · ${r.framesOut.toLocaleString()} out`))));
}

function renderStates(all) {
  const counts = Object.fromEntries(STATES.map((s) => [s, 0]));
  for (const c of all) counts[c.state]++;
  const chip = (state, label, n) => {
    const pressed = state === 'all' ? stateFilter.size === 0 : stateFilter.has(state);
    const button = el('button', { class: `chip state-${state}`, 'aria-pressed': String(pressed), 'data-state': state }, `${label} `, el('span', { class: 'n' }, String(n)));
    button.addEventListener('click', () => {
      if (state === 'all') stateFilter.clear();
      else if (stateFilter.has(state)) stateFilter.delete(state);
      else stateFilter.add(state);
      localStorage.setItem('mqttsn.states', JSON.stringify([...stateFilter]));
      render();
    });
    return button;
  };
  $('states').replaceChildren(chip('all', 'all', all.length), ...STATES.filter((s) => counts[s] > 0 || stateFilter.has(s)).map((s) => chip(s, s, counts[s])));
}

function cell(label, content, cls) {
  return el('td', { 'data-label': label, ...(cls ? { class: cls } : {}) }, content);
}

function row(c) {
  const where = c.nodeId ? `${c.address} node ${c.nodeId}` : c.address;
  const subs = c.subscriptions.map((s) => `${s.filter} (QoS ${s.qos})`).join(', ') || '—';
  return el('tr', { 'data-client-id': c.clientId, class: `state-${c.state}` },
    cell('ClientId', el('span', { class: 'id' }, c.clientId, c.hasWill ? el('span', { class: 'will', title: 'has a will' }, ' ✝') : '')),
    cell('State', el('span', { class: `state state-${c.state}` }, c.state)),
    cell('Radio / address', el('span', {}, el('span', { class: 'muted' }, c.radio + ' '), where)),
    cell('Last seen', el('time', { datetime: c.lastSeen, title: c.lastSeen }, ago(c.lastSeen)), 'num'),
    cell('Keep-alive', duration(c.keepAlive), 'num'),
    cell('Buffered', String(c.buffered), 'num'),
    cell('In flight', String(c.inflight), 'num'),
    cell('Dropped', String(c.dropped), c.dropped > 0 ? 'num warn' : 'num'),
    cell('Subscriptions', subs, 'subs'));
}

function render() {
  const all = [...clients.values()];
  renderStates(all);
  const shown = all
    .filter((c) => stateFilter.size === 0 || stateFilter.has(c.state))
    .filter((c) => !search || c.clientId.toLowerCase().includes(search) || c.address.toLowerCase().includes(search))
    .sort(compare);
  document.querySelector('#clients tbody').replaceChildren(...shown.map(row));
  $('count').textContent = shown.length === all.length ? `(${all.length})` : `(${shown.length} of ${all.length})`;
  $('empty').hidden = all.length > 0;
  $('empty').textContent = all.length === 0 ? 'No sensor has connected yet.' : '';
  for (const th of document.querySelectorAll('#clients th')) {
    if (th.dataset.key === sortKey) th.setAttribute('aria-sort', sortDir > 0 ? 'ascending' : 'descending');
    else th.removeAttribute('aria-sort');
  }
}

function setBroker(broker) {
  const b = $('broker');
  b.textContent = broker.up ? 'broker up' : 'broker DOWN';
  b.className = `badge ${broker.up ? 'good' : 'bad'}`;
  b.title = `${broker.url}: ${broker.pending} pending, ${broker.reconnects} reconnects`;
}

function connect() {
  const source = new EventSource('events');
  source.addEventListener('open', () => { $('live').textContent = 'live'; $('live').className = 'badge good'; });
  source.addEventListener('error', () => { $('live').textContent = 'reconnecting…'; $('live').className = 'badge bad'; });
  source.addEventListener('snapshot', (e) => {
    const s = JSON.parse(e.data);
    $('gateway-id').textContent = `#${s.gatewayId}`;
    document.title = `MQTT-SN gateway #${s.gatewayId}`;
    setBroker(s.broker);
    radios = s.radios;
    clients.clear();
    for (const c of s.clients) clients.set(c.clientId, c);
    renderRadios();
    render();
  });
  source.addEventListener('clients', (e) => {
    const d = JSON.parse(e.data);
    for (const c of d.clients) clients.set(c.clientId, c);
    for (const id of d.forgotten) clients.delete(id);
    radios = d.radios;
    renderRadios();
    render();
  });
}

document.addEventListener('DOMContentLoaded', () => {
  for (const th of document.querySelectorAll('#clients th')) {
    th.querySelector('button').addEventListener('click', () => {
      if (sortKey === th.dataset.key) sortDir = -sortDir;
      else { sortKey = th.dataset.key; sortDir = 1; }
      render();
    });
  }
  $('search').addEventListener('input', (e) => { search = e.target.value.trim().toLowerCase(); render(); });
  // "Last seen" moves on between updates.
  setInterval(() => { for (const t of document.querySelectorAll('#clients time')) t.textContent = ago(t.getAttribute('datetime')); }, 1000);
  render();
  connect();
});
