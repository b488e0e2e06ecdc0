// The seed's Flex phonebook as a page.  It talks to /api.php exactly as a Flex RemoteObject does:
// a CommandMessage ping (operation 5) for a client id, then RemotingMessages for Phonebook.login,
// Phonebook.sync and Phonebook.logout, all encoded and decoded by libamf compiled to wasm.
import { loadCore } from './ymsg-web.mjs';

const GATEWAY = '/api.php';
const $ = (id) => document.getElementById(id);
const state = { core: null, dsId: 'nil', seq: 0, user: '', list: [], sortKey: 'name', sortDir: 1 };

function status(text, kind = '') {
  const s = $('status');
  s.textContent = text;
  s.className = 'status ' + kind;
}

// A Flex UUID (upper-case 8-4-4-4-12), as mx.utils.UUIDUtils makes them.
function uuid() {
  return crypto.randomUUID().toUpperCase();
}

// One HTTP POST carrying one Flex message; returns the decoded Flex reply (ack or error).
async function call(msg) {
  const bytes = state.core.flexRequest([{ messageId: uuid(), clientId: state.dsId === 'nil' ? null : state.dsId,
    dsId: state.dsId, ...msg }]);
  const r = await fetch(GATEWAY, { method: 'POST', body: bytes, credentials: 'same-origin',
    headers: { 'Content-Type': 'application/x-amf' } });
  if (!r.ok) throw new Error(`the gateway answered HTTP ${r.status}`);
  const reply = state.core.decodePacket(new Uint8Array(await r.arrayBuffer()));
  const body = reply.bodies[0];
  if (!body || !body.flex) throw new Error('the gateway sent no Flex message');
  showReply(reply);
  if (body.flex.kind === 'error') {
    const e = new Error(body.flex.faultString || body.flex.faultCode || 'the server refused the call');
    e.fault = body.flex;
    throw e;
  }
  return body.flex;
}

const remoting = (operation, args) => call({ kind: 'remoting', operation, source: 'Phonebook',
  destination: 'Phonebook', endpoint: 'my-amf', body: args });

async function ping() {
  const ack = await call({ kind: 'command', operation: 5, headers: { DSMessagingVersion: 1, DSId: 'nil' } });
  if (ack.clientId) state.dsId = ack.clientId;
}

function showReply(reply) {
  $('reply').textContent = JSON.stringify(reply.bodies.map((b) => ({ target: b.target, value: b.value })), null, 2);
}

// Entries as PhoneEntry objects (the Flex app's value class); anything else the server hands back
// (plain objects from older clients) is shown too.  `raw` keeps the object exactly as it came back:
// members this page does not show (yahooId, nickname, firstName, ... — the address book Pidgin reads,
// issue 15) go back untouched on the next sync, and only a field the user edited is rewritten.
function toEntry(v) {
  const o = v && typeof v === 'object' && !Array.isArray(v) ? v : {};
  const str = (x) => (x === undefined || x === null ? '' : String(x));
  const full = [o.firstName, o.lastName].filter((x) => x !== undefined && x !== null && x !== '').join(' ');
  const name = str(o.name) || full || str(o.nickname) || str(o.yahooId);
  return { raw: o, name, phone: str(o.phone ?? o.mobile ?? o.workPhone), email: str(o.email), edited: false };
}

// The object a sync sends for an entry: the server's own object with the edited fields written over it,
// or a new PhoneEntry.
function toWire(e) {
  if (!e.raw) return { $class: 'PhoneEntry', name: e.name, phone: e.phone, email: e.email };
  if (!e.edited) return e.raw;
  return { ...e.raw, name: e.name, phone: e.phone, email: e.email };
}

function render() {
  const { list, sortKey, sortDir } = state;
  const order = list.map((e, i) => i).sort((a, b) =>
    sortDir * list[a][sortKey].localeCompare(list[b][sortKey], undefined, { sensitivity: 'base', numeric: true }));
  const tbody = $('rows');
  tbody.replaceChildren(...order.map((i) => {
    const e = list[i];
    const tr = document.createElement('tr');
    for (const k of ['name', 'phone', 'email']) {
      const td = document.createElement('td');
      td.textContent = e[k];
      td.dataset.label = k[0].toUpperCase() + k.slice(1);
      tr.append(td);
    }
    const td = document.createElement('td');
    td.className = 'actions';
    const edit = button('Edit', () => startEdit(i), `Edit ${e.name}`);
    const del = button('Delete', () => { state.list.splice(i, 1); cancelEdit(); render(); status(`Deleted ${e.name} (not synced yet).`); }, `Delete ${e.name}`);
    del.className = 'danger ghost';
    td.append(edit, del);
    tr.append(td);
    return tr;
  }));
  $('count').textContent = String(list.length);
  $('empty').hidden = list.length > 0;
  for (const th of document.querySelectorAll('#table th[aria-sort]')) {
    const k = th.querySelector('button').dataset.key;
    th.setAttribute('aria-sort', k === sortKey ? (sortDir > 0 ? 'ascending' : 'descending') : 'none');
  }
}

function button(text, fn, label) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = text;
  b.className = 'ghost';
  if (label) b.setAttribute('aria-label', label);
  b.addEventListener('click', fn);
  return b;
}

function startEdit(i) {
  const e = state.list[i];
  $('edit-index').value = String(i);
  $('e-name').value = e.name; $('e-phone').value = e.phone; $('e-email').value = e.email;
  $('e-save').textContent = 'Save';
  $('e-cancel').hidden = false;
  $('e-name').focus();
}

function cancelEdit() {
  $('edit-index').value = '-1';
  $('entry').reset();
  $('e-save').textContent = 'Add';
  $('e-cancel').hidden = true;
}

async function sync(send) {
  const btn = $('sync');
  btn.disabled = true;
  status(send ? 'Syncing…' : 'Loading your phonebook…');
  try {
    const list = send ? state.list.map(toWire) : [];
    const ack = await remoting('sync', [list]);
    const back = Array.isArray(ack.body) ? ack.body : [];
    state.list = back.map(toEntry);
    render();
    const when = new Date().toLocaleTimeString();
    status(send ? `Synced ${state.list.length} contact${state.list.length === 1 ? '' : 's'} at ${when}.`
                : `Loaded ${state.list.length} contact${state.list.length === 1 ? '' : 's'}.`, 'ok');
  } catch (e) {
    status(`Sync failed: ${e.message}`, 'error');
  } finally {
    btn.disabled = false;
  }
}

async function login(ev) {
  ev.preventDefault();
  const user = $('user').value.trim(), pass = $('pass').value;
  const btn = $('login-btn');
  btn.disabled = true;
  status('Logging in…');
  try {
    if (state.dsId === 'nil') await ping();
    const ack = await remoting('login', [user, pass]);
    if (ack.body !== true) {
      status('Wrong ID or password.', 'error');
      $('pass').select();
      return;
    }
    state.user = user;
    $('pass').value = '';
    $('login').hidden = true;
    $('book').hidden = false;
    $('logout').hidden = false;
    $('who').textContent = user;
    await sync(false);
    $('e-name').focus();
  } catch (e) {
    status(`Login failed: ${e.message}`, 'error');
  } finally {
    btn.disabled = false;
  }
}

async function logout() {
  try { await remoting('logout', []); } catch (e) { /* the session may have expired: log out locally anyway */ }
  state.list = [];
  state.user = '';
  render();
  $('book').hidden = true;
  $('logout').hidden = true;
  $('login').hidden = false;
  $('who').textContent = '';
  status('Logged out.');
  $('user').focus();
}

function saveEntry(ev) {
  ev.preventDefault();
  const e = { name: $('e-name').value.trim(), phone: $('e-phone').value.trim(), email: $('e-email').value.trim() };
  if (!e.name) return;
  const i = Number($('edit-index').value);
  if (i >= 0) state.list[i] = { ...state.list[i], ...e, edited: true };
  else state.list.push(e);
  status(`${i >= 0 ? 'Changed' : 'Added'} ${e.name} (press Sync to store).`);
  cancelEdit();
  render();
  $('e-name').focus();
}

async function main() {
  $('login').addEventListener('submit', login);
  $('entry').addEventListener('submit', saveEntry);
  $('e-cancel').addEventListener('click', cancelEdit);
  $('sync').addEventListener('click', () => sync(true));
  $('logout').addEventListener('click', logout);
  for (const b of document.querySelectorAll('#table th button')) {
    b.addEventListener('click', () => {
      const k = b.dataset.key;
      state.sortDir = state.sortKey === k ? -state.sortDir : 1;
      state.sortKey = k;
      render();
    });
  }
  const btn = $('login-btn');
  btn.disabled = true;
  try {
    state.core = await loadCore();
    btn.disabled = false;
    document.body.dataset.ready = '1';
  } catch (e) {
    status(`Cannot start: ${e.message}`, 'error');
  }
  render();
}

main();
