// The web messenger: libymsg's sans-IO session (wasm) driven over a WebSocket to ymsgd's /ymsg, with
// the token login (pwtoken_get, pwtoken_login) done by fetch() when the session asks for it —
// exactly the steps a desktop client takes, on the same C code.
import { loadCore, SS, STATUS } from './ymsg-web.mjs';

const $ = (id) => document.getElementById(id);
const reduceMotion = matchMedia('(prefers-reduced-motion: reduce)');
const LOGIN_TEXT = {
  1212: 'Wrong ID or password.', 1213: 'This account is locked after too many failed attempts. Try again later.',
  1235: 'No such Yahoo! ID.', 1236: 'Too many sign-in attempts from here. Wait a little and try again.',
  1214: 'The server asks for a security check this page cannot show.', 1218: 'This account has been deactivated.',
};

const st = {
  core: null, session: null, ws: null, timer: 0, user: '', pass: '', wantStatus: 0,
  online: false, signingIn: false, stopped: true, retry: 0, retryTimer: 0,
  chats: new Map(),          // id (buddy) or conf:NAME / room:NAME -> {kind, tab, panel, log, unread, ...}
  invites: [],               // conference and room invitations not answered yet: {kind, room, who, text, list}
  active: '', roster: { buddies: [], groups: [], requests: [] }, notify: false,
  relay: null,               // the file relay's base URL from this page's CSP ('' = none: no file transfer)
  relayWhy: '',              // ... why there is none (shown when an offer is declined)
  roomIds: new Map(),        // room name -> the id the room list gave it (0x98 key 129 on a rejoin)
  xfers: new Map(),          // transfer id -> {id, who, name, size, file, out, li, bar, state, buttons}
};

// ---------------------------------------------------------------- connection and session pump
function wsUrl() {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ymsg`;
}

function connect() {
  clearTimeout(st.retryTimer);
  st.stopped = false;
  const status = st.wantStatus === STATUS.INVISIBLE ? STATUS.INVISIBLE : STATUS.AVAILABLE;
  st.session?.free();
  st.invites = []; // they were the old session's
  renderInvites();
  st.session = st.core.session(st.user, st.pass, { status, loginUrl: location.origin });
  const ws = new WebSocket(wsUrl(), 'ymsg');
  ws.binaryType = 'arraybuffer';
  st.ws = ws;
  ws.onopen = () => { if (st.ws === ws) { st.session.start(performance.now()); pump(); } };
  ws.onmessage = (m) => { if (st.ws === ws) { st.session.feed(new Uint8Array(m.data)); pump(); } };
  ws.onclose = (e) => {
    if (st.ws !== ws) return;
    st.ws = null;
    if (st.session && st.session.state() !== SS.CLOSED) st.session.close(`connection closed (${e.code})`);
    pump();
  };
}

function pump() {
  const s = st.session;
  if (!s) return;
  for (;;) {
    const out = s.output();
    if (out && st.ws && st.ws.readyState === WebSocket.OPEN) {
      st.ws.send(out);
      s.consume(out.length);
    }
    let any = false;
    for (const ev of s.events()) { any = true; onEvent(ev); }
    if (!any && !(out && st.ws && st.ws.readyState === WebSocket.OPEN)) break;
    if (st.session !== s) return;
  }
  clearTimeout(st.timer);
  if (s.state() !== SS.CLOSED) {
    const wait = Math.min(s.timeout(performance.now()), 60000);
    st.timer = setTimeout(() => { if (st.session === s) { s.tick(performance.now()); pump(); } }, wait);
  }
}

async function httpGet(url) {
  const s = st.session;
  try {
    const r = await fetch(url, { credentials: 'same-origin', cache: 'no-store' });
    const body = await r.text();
    const headers = [...r.headers].map(([k, v]) => `${k}: ${v}`).join('\r\n');
    if (st.session === s) s.httpResponse(r.status, headers, body);
  } catch (e) {
    if (st.session === s) s.httpResponse(0, '', String(e.message || e));
  }
  if (st.session === s) pump();
}

function scheduleReconnect(why) {
  if (st.stopped) return;
  const delay = Math.min(30000, 1000 * 2 ** st.retry) * (0.8 + Math.random() * 0.4);
  st.retry = Math.min(st.retry + 1, 5);
  banner(`Connection lost (${why}). Reconnecting in ${Math.round(delay / 1000)} s…`);
  st.retryTimer = setTimeout(connect, delay);
}

// ---------------------------------------------------------------- events
function onEvent(ev) {
  switch (ev.type) {
    case 'http_get': httpGet(ev.text); break;
    case 'logged_in':
      st.online = true; st.retry = 0; st.signingIn = false;
      banner('');
      showMain();
      rejoinGroups();
      break;
    case 'login_failed': loginFailed(ev); break;
    case 'buddy_list': case 'presence': case 'list_ack': case 'auth_request':
      renderRoster();
      if (ev.type === 'list_ack' && ev.code !== 0 && ev.who) sysLine(ev.who, `Could not change ${ev.who}: ${ev.text || 'code ' + ev.code}`);
      break;
    case 'auth_answer':
      renderRoster();
      sysLine(ev.who, ev.on ? `${ev.who} accepted your request.` : `${ev.who} declined your request${ev.text ? ': ' + ev.text : '.'}`);
      break;
    case 'message': incoming(ev); break;
    case 'buzz': buzz(ev); break;
    case 'typing': typing(ev.who, ev.on); break;
    case 'not_sent': sysLine(ev.who, `Not delivered to ${ev.who}${ev.text ? ': ' + ev.text : '.'}`); break;
    case 'system': if (ev.text) banner(ev.text, 8000); break;
    case 'conf_invite': case 'conf_join': case 'conf_leave': case 'conf_decline': case 'conf_message':
    case 'conf_failed': case 'room_joined': case 'room_failed': case 'room_enter': case 'room_exit':
    case 'room_message': case 'room_invite': case 'room_logout':
      groupEvent(ev);
      break;
    case 'file_offer': fileOffer(ev); break;
    case 'file_upload': case 'file_download': case 'file_declined': case 'file_cancelled': case 'file_done':
      fileEvent(ev);
      break;
    case 'kicked':
      st.stopped = true;
      groupsEnded('You signed in somewhere else');
      banner('You signed in somewhere else, so this window was signed out.');
      break;
    case 'disconnected':
      st.online = false;
      xfersEnded();
      if (!st.stopped && !st.signingIn) groupsAway();
      else groupsEnded('You were disconnected');
      renderRoster();
      if (!st.stopped && !st.signingIn) scheduleReconnect(ev.text || 'closed');
      if (st.signingIn && !st.stopped) loginFailed({ code: -1, text: ev.text });
      break;
    default: break;
  }
}

function loginFailed(ev) {
  const text = LOGIN_TEXT[ev.code] || (ev.network ? `The server could not be reached (${ev.text}).` : ev.text || 'Sign-in failed.');
  if (st.signingIn) {
    st.stopped = true;
    st.signingIn = false;
    st.ws?.close();
    $('signin-error').textContent = text;
    $('signin-btn').disabled = false;
    $('pass').select();
  } else if (ev.network) {
    scheduleReconnect(text);
  } else {
    st.stopped = true;
    groupsEnded(`Signed out (${text})`);
    banner(`Signed out: ${text}`);
  }
}

// ---------------------------------------------------------------- roster
const presence = (b) => !b.online ? 'offline' : (b.away || (b.status !== 0 && b.status !== 99) || b.idle > 0) ? 'away' : 'online';
const STATUS_TEXT = { 1: 'Be right back', 2: 'Busy', 3: 'Not at home', 4: 'Not at my desk', 5: 'Not in the office',
  6: 'On the phone', 7: 'On vacation', 8: 'Out to lunch', 9: 'Stepped out', 999: 'Idle' };
function statusLine(b) {
  if (b.pending) return 'waiting for authorisation';
  if (!b.online) return 'offline';
  if (b.msg) return b.msg;
  return STATUS_TEXT[b.status] || '';
}

function renderRoster() {
  if (!st.session) return;
  st.roster = st.session.roster();
  const ul = $('roster');
  const groups = [...new Set([...st.roster.groups, ...st.roster.buddies.map((b) => b.group)])];
  const items = [];
  for (const g of groups) {
    const members = st.roster.buddies.filter((b) => b.group === g)
      .sort((a, b) => (b.online - a.online) || a.id.localeCompare(b.id));
    if (!members.length && !st.roster.groups.includes(g)) continue;
    const li = el('li', { class: 'group', role: 'listitem' });
    const online = members.filter((b) => b.online).length;
    li.append(el('h2', { class: 'group-name' }, `${g} `, el('span', { class: 'muted' }, `${online}/${members.length}`)));
    const inner = el('ul', { role: 'list', 'aria-label': g });
    for (const b of members) {
      const p = presence(b);
      const btn = el('button', { type: 'button', class: `buddy ${p}`, 'data-id': b.id,
        'aria-label': `${b.id}, ${p}${statusLine(b) && statusLine(b) !== p ? ', ' + statusLine(b) : ''}` },
        el('span', { class: 'dot', 'aria-hidden': 'true' }), el('span', { class: 'name' }, b.id),
        el('span', { class: 'smsg' }, statusLine(b)));
      btn.addEventListener('click', () => openChat(b.id, true));
      const unread = st.chats.get(b.id)?.unread;
      if (unread) btn.append(el('span', { class: 'badge' }, String(unread)));
      inner.append(el('li', { role: 'listitem' }, btn));
    }
    li.append(inner);
    items.push(li);
  }
  if (!items.length) items.push(el('li', { class: 'muted empty', role: 'listitem' }, 'No buddies yet: add one below.'));
  ul.replaceChildren(...items);
  renderRequests();
  for (const [id, c] of st.chats) if (c.kind === 'im') c.tab.classList.toggle('offline', presence(buddy(id) || {}) === 'offline');
}

function buddy(id) { return st.roster.buddies.find((b) => b.id === id); }

function renderRequests() {
  const box = $('requests');
  const reqs = st.roster.requests;
  box.hidden = !reqs.length;
  box.replaceChildren(el('h2', { class: 'small-title' }, 'Wants to add you'), ...reqs.map((r) => {
    const acc = el('button', { type: 'button', class: 'primary', 'aria-label': `Accept ${r.id}` }, 'Accept');
    const dec = el('button', { type: 'button', class: 'ghost danger', 'aria-label': `Decline ${r.id}` }, 'Decline');
    acc.addEventListener('click', () => { st.session.authReply(r.id, true); pump(); renderRoster(); });
    dec.addEventListener('click', () => { st.session.authReply(r.id, false, 'No thanks'); pump(); renderRoster(); });
    return el('div', { class: 'request' }, el('div', {}, el('strong', {}, r.id), r.msg ? el('div', { class: 'muted' }, r.msg) : ''),
      el('div', { class: 'row' }, acc, dec));
  }));
}

// ---------------------------------------------------------------- chats
function openChat(id, focus, show = true) {
  let c = st.chats.get(id);
  if (!c) {
    const tabId = `tab-${st.chats.size}-${id.replace(/[^a-z0-9]/gi, '_')}`;
    const tab = newTab(tabId, 'tab', id, id, `Close ${id}`);
    const log = el('ol', { class: 'log', role: 'log', 'aria-live': 'polite', 'aria-label': `Conversation with ${id}` });
    const typingLine = el('p', { class: 'typing muted', 'aria-live': 'polite' });
    const input = el('textarea', { class: 'compose', rows: '2', placeholder: `Message ${id}`, 'aria-label': `Message to ${id}`, maxlength: '2000' });
    const send = el('button', { type: 'submit', class: 'primary' }, 'Send');
    const buzzBtn = el('button', { type: 'button', title: 'Buzz!', 'aria-label': `Buzz ${id}` }, '📳 Buzz');
    const fileIn = el('input', { type: 'file', multiple: '', hidden: '', 'aria-label': `File to send to ${id}` });
    const fileBtn = el('button', { type: 'button', title: 'Send a file (or drop it here)', 'aria-label': `Send a file to ${id}` }, '📎 File');
    if (st.relay === '') fileBtn.hidden = true;
    const form = el('form', { class: 'composer' }, input, el('div', { class: 'compose-buttons' }, fileIn, fileBtn, buzzBtn, send));
    const panel = el('div', { role: 'tabpanel', class: 'panel', 'aria-labelledby': tabId, hidden: '' }, log, typingLine, form);
    c = { kind: 'im', id, label: id, tab, panel, log, typingLine, input, fileBtn, unread: 0, typingTimer: 0, typingSent: 0, lastDay: '' };
    addChat(c, form, sendMessage);
    fileBtn.addEventListener('click', () => fileIn.click());
    fileIn.addEventListener('change', () => { const f = [...fileIn.files]; fileIn.value = ''; sendFiles(c, f); });
    // a file dropped anywhere on the conversation is offered to the buddy
    const hasFiles = (e) => e.dataTransfer && [...e.dataTransfer.types].includes('Files');
    panel.addEventListener('dragover', (e) => { if (hasFiles(e)) { e.preventDefault(); panel.classList.add('drop'); } });
    panel.addEventListener('dragleave', (e) => { if (e.target === panel) panel.classList.remove('drop'); });
    panel.addEventListener('drop', (e) => {
      panel.classList.remove('drop');
      if (!hasFiles(e)) return;
      e.preventDefault();
      sendFiles(c, [...e.dataTransfer.files]);
    });
    input.addEventListener('input', () => typingOut(c));
    buzzBtn.addEventListener('click', () => {
      if (st.session.buzz(id) === 0) { line(c, 'me', '📳 BUZZ!!!', Date.now() / 1000, 'buzz'); pump(); }
    });
  }
  if (show) select(id, focus);
  return c;
}

// A conversation's tab (its last child is the close control).
function newTab(tabId, cls, key, name, closeLabel) {
  return el('button', { type: 'button', role: 'tab', id: tabId, class: cls, 'aria-selected': 'false', 'data-id': key },
    el('span', { class: 'tab-name' }, name), el('span', { class: 'badge', hidden: '' }, '0'),
    el('span', { class: 'tab-close', role: 'button', tabindex: '-1', 'aria-label': closeLabel }, '×'));
}

// Puts a conversation on the page: its tab (click, × and the keys of tabKeys), its composer (Enter
// sends, Shift+Enter is a new line).
function addChat(c, form, send) {
  st.chats.set(c.id, c);
  c.tab.addEventListener('click', (e) => { if (e.target.classList.contains('tab-close')) closeChat(c.id); else select(c.id, true); });
  c.tab.addEventListener('keydown', (e) => tabKeys(e, c.id));
  form.addEventListener('submit', (e) => { e.preventDefault(); send(c); });
  c.input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(c); }
  });
  $('tabs').append(c.tab);
  $('panels').append(c.panel);
}

function select(id, focus) {
  st.active = id;
  for (const [k, c] of st.chats) {
    const on = k === id;
    c.tab.setAttribute('aria-selected', on ? 'true' : 'false');
    c.tab.tabIndex = on ? 0 : -1;
    c.panel.hidden = !on;
    if (on) { c.unread = 0; badge(c); }
  }
  $('empty-chat').hidden = st.chats.size > 0;
  document.body.classList.toggle('chatting', !!id);
  const c = st.chats.get(id);
  if (c && focus) c.input.focus();
  if (c) c.log.scrollTop = c.log.scrollHeight;
  title();
  renderRoster();
}

function closeChat(id) {
  const c = st.chats.get(id);
  if (!c) return;
  if (c.kind !== 'im' && !c.ended && st.session) { // closing a group's tab is leaving it
    if (c.kind === 'conf') st.session.confLeave(c.name);
    else if (st.session.groups().room === c.name) st.session.roomLeave();
    pump();
  }
  c.tab.remove(); c.panel.remove();
  st.chats.delete(id);
  const next = [...st.chats.keys()].pop() || '';
  if (next) select(next, true);
  else { st.active = ''; $('empty-chat').hidden = false; document.body.classList.remove('chatting'); title(); }
}

function tabKeys(e, id) {
  const ids = [...st.chats.keys()];
  const i = ids.indexOf(id);
  if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
    const j = (i + (e.key === 'ArrowRight' ? 1 : ids.length - 1)) % ids.length;
    select(ids[j], false);
    st.chats.get(ids[j]).tab.focus();
    e.preventDefault();
  } else if (e.key === 'Delete') {
    closeChat(id);
  }
}

function badge(c) {
  const b = c.tab.querySelector('.badge');
  b.hidden = !c.unread;
  b.textContent = String(c.unread);
}

function title() {
  const n = [...st.chats.values()].reduce((a, c) => a + c.unread, 0);
  document.title = n ? `(${n}) Messenger` : 'Messenger';
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short' });

function line(c, who, text, t, kind = '', offline = false, from = '') {
  const when = new Date((t || Date.now() / 1000) * 1000);
  const day = dayFmt.format(when);
  if (day !== c.lastDay) { c.lastDay = day; c.log.append(el('li', { class: 'day' }, day)); }
  const li = el('li', { class: `msg ${who === 'me' ? 'mine' : who === 'sys' ? 'sys' : 'theirs'} ${kind}` });
  if (from && who !== 'me') li.append(el('span', { class: 'from' }, from));
  else if (who !== 'sys') li.append(el('span', { class: 'sr-only' }, who === 'me' ? 'You: ' : `${c.label}: `));
  li.append(el('span', { class: 'text' }, text));
  li.append(el('time', { datetime: when.toISOString(), class: 'muted' }, (offline ? 'sent while you were away, ' : '') +
    (offline && day !== dayFmt.format(new Date()) ? day + ' ' : '') + timeFmt.format(when)));
  c.log.append(li);
  c.log.scrollTop = c.log.scrollHeight;
}

function sysLine(id, text) {
  const c = id ? openChat(id, false, false) : st.chats.get(st.active);
  if (c) line(c, 'sys', text);
  else banner(text, 6000);
}

function sendMessage(c) {
  const text = c.input.value.replace(/\s+$/, '');
  if (!text) return;
  const rc = st.session.sendMessage(c.id, text);
  if (rc !== 0) { line(c, 'sys', `Not sent: ${st.core.ymsgError(rc)}`); return; }
  line(c, 'me', text);
  c.input.value = '';
  if (c.typingSent) { st.session.typing(c.id, false); c.typingSent = 0; }
  pump();
}

function typingOut(c) {
  const now = Date.now();
  const has = c.input.value.length > 0;
  if (has && now - c.typingSent > 4000) { st.session.typing(c.id, true); c.typingSent = now; pump(); }
  if (!has && c.typingSent) { st.session.typing(c.id, false); c.typingSent = 0; pump(); }
}

function typing(who, on) {
  const c = st.chats.get(who);
  if (!c) return;
  clearTimeout(c.typingTimer);
  c.typingLine.textContent = on ? `${who} is typing…` : '';
  if (on) c.typingTimer = setTimeout(() => { c.typingLine.textContent = ''; }, 8000);
}

function incoming(ev) {
  // a conversation that is not in view opens in the background, with its unread count
  const c = openChat(ev.who, false, false);
  typing(ev.who, false);
  line(c, 'them', ev.text, ev.time || Date.now() / 1000, ev.offline ? 'offline' : '', ev.offline);
  unread(c, ev.text);
}

function unread(c, text) {
  if (st.active !== c.id || document.hidden) {
    c.unread++;
    badge(c);
    title();
    renderRoster();
  }
  // the tab is hidden, or the window is behind another one: the person is not looking at this page
  const away = document.hidden || !document.hasFocus();
  if (st.notify && away && 'Notification' in window && Notification.permission === 'granted') {
    const n = new Notification(c.label, { body: text, tag: `ymsg-${c.id}` });
    n.onclick = () => { window.focus(); select(c.id, true); n.close(); };
  }
}

// ---------------------------------------------------------------- file transfer
// The session speaks the packets (0xDC/0xDD/0xDE); the page moves the bytes to and from ymsgd's relay,
// a listener of its own (--relay-listen): an XHR POST with upload progress, a fetch() read chunk by
// chunk into a Blob saved through a link.  The relay answers CORS to this page's origin, and ymsgd's
// CSP for this page names the relay (connect-src); without a relay there is no file transfer, and an
// offer is declined at once so that the sender is told instead of waiting for its time-to-live.
const YMSG_EPROTO = -14;

function fmtSize(n) {
  return n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : n >= 1024 ? `${Math.round(n / 1024)} KB` : `${n} bytes`;
}

// The relay this page may reach: among the http(s) sources in the connect-src of the CSP ymsgd sent
// with it (relay_public_url, or the relay's listeners), an https one for a page over https (a plain
// one would be mixed content, which the browser blocks), the plain one first for a plain page.
// st.relayWhy says why there is none.
async function findRelay() {
  if (st.relay !== null) return st.relay;
  let cs = [];
  try {
    const r = await fetch(location.pathname, { method: 'HEAD', cache: 'no-store', credentials: 'same-origin' });
    const csp = r.headers.get('content-security-policy') || '';
    cs = (csp.split(';').map((d) => d.trim()).find((d) => d.startsWith('connect-src ')) || '').split(/\s+/)
      .filter((x) => /^https?:\/\//.test(x));
  } catch { cs = []; }
  const tls = cs.filter((x) => x.startsWith('https://'));
  const pick = location.protocol === 'https:' ? tls[0] : cs.find((x) => x.startsWith('http://')) || tls[0];
  st.relay = pick ? pick.replace(/\/+$/, '') : '';
  st.relayWhy = pick ? '' : cs.length
    ? 'This page is served over https and the server\'s file relay only over plain http (the browser would block it as mixed content)'
    : 'This server has no file relay the page can reach';
  for (const c of st.chats.values()) if (c.fileBtn) c.fileBtn.hidden = !st.relay;
  return st.relay;
}

// The session's relay URL (http://<key 250>/relay?...) at the relay this page reaches: same query,
// the public base found above (relay_public_url may put the relay behind a proxy, with a path).
// holder= names the relay that holds the file (key 250, host:port): in a cluster it may be another
// node's, and this page's relay fetches it from there (docs/FILE_TRANSFER.md §4).
function relayUrl(url) {
  const u = new URL(url);
  const q = new URLSearchParams(u.search);
  q.set('holder', `${u.hostname}:${u.port || 80}`);
  return `${st.relay}${u.pathname.replace(/^.*(\/relay)$/, '$1')}?${q}`;
}

// A transfer's entry in the conversation: its text, a progress bar and its buttons.
function xferItem(c, x, text) {
  x.text = el('span', { class: 'text' }, text);
  x.bar = el('progress', { max: String(x.size), value: '0', hidden: '', 'aria-label': `Progress of ${x.name}` });
  x.buttons = el('div', { class: 'row xfer-buttons' });
  x.li = el('li', { class: `msg xfer ${x.out ? 'mine' : 'theirs'}`, 'data-xfer': x.id }, x.text, x.bar, x.buttons);
  c.log.append(x.li);
  c.log.scrollTop = c.log.scrollHeight;
  st.xfers.set(x.id, x);
}

function xferSay(x, text, buttons = []) {
  x.text.textContent = text;
  x.buttons.replaceChildren(...buttons);
}

function xferEnd(x, text) {
  x.state = 'ended';
  x.bar.hidden = true;
  xferSay(x, text);
  x.li.classList.add('ended');
  st.xfers.delete(x.id);
}

function xferProgress(x, done) {
  x.bar.hidden = false;
  x.bar.value = done;
  x.bar.setAttribute('aria-valuetext', `${Math.floor((100 * done) / Math.max(1, x.size))}%`);
  st.session?.fileProgress(x.id, done);
}

async function sendFiles(c, files) {
  if (!(await findRelay())) { line(c, 'sys', `${st.relayWhy}: files cannot be sent.`); return; }
  for (const file of files) {
    if (!file.size) { line(c, 'sys', `“${file.name}” is empty: not sent.`); continue; }
    let id;
    try { id = st.session.fileSend(c.id, file.name, file.size); } catch (e) {
      line(c, 'sys', `“${file.name}” not sent: ${e.message}`);
      continue;
    }
    const x = { id, who: c.id, name: file.name, size: file.size, file, out: true, state: 'offered' };
    xferItem(c, x, `You offered “${file.name}” (${fmtSize(file.size)}). Waiting for ${c.id} to accept…`);
    const cancel = el('button', { type: 'button', class: 'ghost danger', 'aria-label': `Cancel sending ${file.name}` }, 'Cancel');
    cancel.addEventListener('click', () => { st.session.fileCancel(id); pump(); xferEnd(x, `You cancelled “${file.name}”.`); });
    xferSay(x, x.text.textContent, [cancel]);
    pump();
  }
}

async function fileOffer(ev) {
  const size = fmtSize(ev.size);
  const s = st.session;
  if (!(await findRelay())) {
    if (st.session !== s) return;
    s.fileDecline(ev.xfer);
    pump();
    sysLine(ev.who, `${ev.who} offered you the file “${ev.text}” (${size}). ${st.relayWhy}, so it was declined.`);
    return;
  }
  if (st.session !== s) return;
  const c = openChat(ev.who, false, false);
  const x = { id: ev.xfer, who: ev.who, name: ev.text, size: ev.size, out: false, state: 'offered' };
  xferItem(c, x, `${ev.who} wants to send you “${ev.text}” (${size}).`);
  const acc = el('button', { type: 'button', class: 'primary', 'aria-label': `Accept ${ev.text}` }, 'Accept');
  const dec = el('button', { type: 'button', class: 'ghost danger', 'aria-label': `Decline ${ev.text}` }, 'Decline');
  acc.addEventListener('click', () => {
    if (st.session.fileAccept(x.id) !== 0) { xferEnd(x, `“${x.name}” is no longer offered.`); return; }
    x.state = 'accepted';
    xferSay(x, `Accepted “${x.name}” (${size}). Waiting for the file…`);
    pump();
  });
  dec.addEventListener('click', () => {
    st.session.fileDecline(x.id);
    pump();
    xferEnd(x, `You declined “${x.name}”.`);
  });
  xferSay(x, x.text.textContent, [acc, dec]);
  unread(c, `${ev.who} wants to send you ${ev.text}`);
}

function fileEvent(ev) {
  const x = st.xfers.get(ev.xfer);
  if (!x) { if (ev.type === 'file_cancelled' && ev.who) sysLine(ev.who, `${ev.who} cancelled a file transfer${ev.text ? ': ' + ev.text : '.'}`); return; }
  switch (ev.type) {
    case 'file_upload': upload(x, ev.text); break;
    case 'file_download': download(x, ev.text); break;
    case 'file_declined': xferEnd(x, `${x.who} declined “${x.name}”.`); break;
    case 'file_cancelled':
      // the peer's cancel, or ymsgd's refusal of our offer (too large, quota, not online…) in its words
      xferEnd(x, `“${x.name}” was not ${x.out ? 'sent' : 'received'}: ${ev.text || 'cancelled'}`);
      break;
    case 'file_done':
      if (ev.code !== 0) xferEnd(x, `“${x.name}” failed: ${x.why || ev.text}`);
      else if (x.out) xferEnd(x, `Sent “${x.name}” (${fmtSize(x.size)}) to ${x.who}.`);
      else received(x);
      break;
    default: break;
  }
}

// Cancel while the bytes move: the request is dropped and the session tells the peer.
function movingCancel(x, stop) {
  const b = el('button', { type: 'button', class: 'ghost danger', 'aria-label': `Cancel ${x.name}` }, 'Cancel');
  b.addEventListener('click', () => { x.cancelled = true; stop(); });
  return [b];
}

function upload(x, url) {
  const s = st.session;
  x.state = 'moving';
  const xhr = new XMLHttpRequest();
  x.xhr = xhr;
  xferSay(x, `Sending “${x.name}” (${fmtSize(x.size)})…`, movingCancel(x, () => xhr.abort()));
  xferProgress(x, 0);
  xhr.open('POST', relayUrl(url));
  xhr.upload.onprogress = (e) => { if (st.session === s) xferProgress(x, e.loaded); };
  const finish = (ok, why) => {
    if (st.session !== s || x.state !== 'moving') return;
    x.why = why;
    s.fileDone(x.id, ok ? 0 : YMSG_EPROTO);
    pump();
  };
  xhr.onload = () => finish(xhr.status === 200, `the relay answered ${xhr.status}: ${xhr.responseText.trim() || xhr.statusText}`);
  xhr.onerror = () => finish(false, 'the file relay could not be reached');
  xhr.ontimeout = xhr.onerror;
  xhr.onabort = () => finish(false, 'you cancelled it');
  // the File itself goes out with its own type: the relay takes Content-Type (the preflight allows it)
  xhr.send(x.file);
}

async function download(x, url) {
  const s = st.session;
  x.state = 'moving';
  const ac = new AbortController();
  x.ac = ac;
  xferSay(x, `Receiving “${x.name}” (${fmtSize(x.size)})…`, movingCancel(x, () => ac.abort()));
  xferProgress(x, 0);
  let why = '';
  const parts = [];
  try {
    // held by the relay until the sender's upload is complete
    const r = await fetch(relayUrl(url), { cache: 'no-store', credentials: 'omit', signal: ac.signal });
    if (!r.ok) why = `the relay answered ${r.status}: ${(await r.text()).trim() || r.statusText}`;
    else {
      const rd = r.body.getReader();
      let got = 0;
      for (;;) {
        const { done, value } = await rd.read();
        if (done) break;
        got += value.length;
        if (got > x.size) { why = 'the relay sent more than the offered size'; rd.cancel(); break; }
        parts.push(value);
        if (st.session === s) xferProgress(x, got);
      }
      if (!why && got !== x.size) why = `only ${got} of ${x.size} bytes arrived`;
    }
  } catch (e) { why = x.cancelled ? 'you cancelled it' : `the file relay could not be reached (${e.message || e})`; }
  if (st.session !== s || x.state !== 'moving') return;
  x.why = why;
  if (!why) x.blob = new Blob(parts, { type: 'application/octet-stream' });
  s.fileDone(x.id, why ? YMSG_EPROTO : 0);
  pump();
}

// A received file: saved through a link to its Blob (the browser asks where, or keeps it in Downloads).
function received(x) {
  const url = URL.createObjectURL(x.blob);
  xferEnd(x, `Received “${x.name}” (${fmtSize(x.size)}) from ${x.who}.`);
  const a = el('a', { href: url, download: x.name, class: 'button primary', 'aria-label': `Save ${x.name}` }, `💾 Save “${x.name}”`);
  x.buttons.replaceChildren(a);
}

// The connection is gone: transfers in flight end with it (the session forgot them).
function xfersEnded() {
  for (const x of [...st.xfers.values()]) {
    x.state = 'ended'; // first: the aborts below then end nothing more
    x.xhr?.abort();
    x.ac?.abort();
    xferEnd(x, `“${x.name}” was not ${x.out ? 'sent' : 'received'}: you were disconnected.`);
  }
}

function buzz(ev) {
  const c = openChat(ev.who, false, false);
  line(c, 'them', '📳 BUZZ!!!', ev.time || Date.now() / 1000, 'buzz', ev.offline);
  unread(c, 'BUZZ!!!');
  if (!ev.offline) {
    if (!reduceMotion.matches) {
      const app = $('app');
      app.classList.remove('shake');
      void app.offsetWidth; // restart the animation
      app.classList.add('shake');
    } else {
      c.panel.classList.add('flash');
      setTimeout(() => c.panel.classList.remove('flash'), 1200);
    }
    buzzSound();
  }
}

let audio;
function buzzSound() {
  try {
    audio ||= new AudioContext();
    const t = audio.currentTime;
    const o = audio.createOscillator(), g = audio.createGain();
    o.type = 'square';
    o.frequency.setValueAtTime(140, t);
    o.frequency.linearRampToValueAtTime(90, t + 0.35);
    g.gain.setValueAtTime(0.08, t);
    g.gain.exponentialRampToValueAtTime(0.001, t + 0.4);
    o.connect(g).connect(audio.destination);
    o.start(t); o.stop(t + 0.4);
    document.body.dataset.buzzSound = String(Number(document.body.dataset.buzzSound || 0) + 1);
  } catch { /* no audio device: the shake is enough */ }
}

// ---------------------------------------------------------------- conferences and chat rooms
// A group's tab shows what the server sent: its member list comes from the session (which keeps
// only the names the server told it), its notices from the server's join/leave/decline packets.
const groupKey = (kind, name) => `${kind}:${name}`;
const KIND_TEXT = { conf: 'conference', room: 'room' };
const ROOM_MAX_BYTES = 1024;
const enc = new TextEncoder();

function openGroup(kind, name, show, focus) {
  const key = groupKey(kind, name);
  let c = st.chats.get(key);
  if (c && !c.ended) { if (show) select(key, focus); return c; }
  if (c) { c.tab.remove(); c.panel.remove(); st.chats.delete(key); }
  const tabId = `tab-${kind}-${Date.now().toString(36)}-${st.chats.size}`;
  const tab = newTab(tabId, `tab ${kind}`, key, `${kind === 'conf' ? '👥' : '#'} ${name}`, `Leave ${name}`);
  const label = `${kind === 'conf' ? 'Conference' : 'Room'} ${name}`;
  const head = el('p', { class: 'group-head muted' }, label);
  const log = el('ol', { class: 'log', role: 'log', 'aria-live': 'polite', 'aria-label': label });
  const count = el('span', { class: 'muted' }, '');
  const list = el('ul', { role: 'list', 'aria-label': `Members of ${name}` });
  const members = el('aside', { class: 'members', 'aria-label': `${label}: members` },
    el('h2', { class: 'small-title' }, 'Members ', count), list);
  const input = el('textarea', { class: 'compose', rows: '2', placeholder: `Message ${name}`, 'aria-label': `Message to ${name}`, maxlength: '1000' });
  const invite = el('button', { type: 'button', 'aria-label': `Invite to ${name}` }, '➕ Invite');
  const leave = el('button', { type: 'button', class: 'ghost danger', 'aria-label': `Leave ${name}` }, 'Leave');
  const send = el('button', { type: 'submit', class: 'primary' }, 'Send');
  const form = el('form', { class: 'composer' }, input, el('div', { class: 'compose-buttons' }, invite, leave, send));
  const panel = el('div', { role: 'tabpanel', class: 'panel group', 'aria-labelledby': tabId, hidden: '' },
    head, el('div', { class: 'group-body' }, el('div', { class: 'group-log' }, log), members), form);
  c = { kind, id: key, name, label: name, tab, panel, log, input, head, list, count, unread: 0, lastDay: '', members: [], ended: false };
  addChat(c, form, groupSend);
  invite.addEventListener('click', () => openInviteDialog(c));
  leave.addEventListener('click', () => closeChat(key));
  if (show) select(key, focus);
  return c;
}

// The member list as the session has it now; returns the names it did not list before.
function renderMembers(c) {
  const g = st.session.groups();
  let now = [];
  if (c.kind === 'conf') now = g.confs.find((x) => x.room === c.name && x.joined)?.members || [];
  else if (g.room === c.name) now = g.roomMembers;
  const added = now.filter((m) => !c.members.includes(m));
  c.members = now;
  const me = st.user;
  c.list.replaceChildren(...[...now].sort((a, b) => (b === me) - (a === me) || a.localeCompare(b)).map((m) =>
    el('li', { class: 'member', 'data-id': m }, m === me ? `${m} (you)` : m)));
  c.count.textContent = `(${now.length})`;
  return added;
}

function groupEnded(c, why) {
  if (c.ended) return;
  c.ended = true;
  line(c, 'sys', why);
  c.panel.classList.add('ended');
  for (const x of c.panel.querySelectorAll('.composer textarea, .composer button')) x.disabled = true;
  c.tab.querySelector('.tab-close').setAttribute('aria-label', `Close ${c.name}`);
}

function groupsEnded(why) {
  for (const c of st.chats.values()) if (c.kind !== 'im') groupEnded(c, `${why}: you are no longer in this ${KIND_TEXT[c.kind]}.`);
}

function composer(c, on) {
  for (const x of c.panel.querySelectorAll('.composer textarea, .composer button')) x.disabled = !on;
}

// The connection dropped and the page will sign in again: the group tabs wait (read-only) to be
// rejoined, with the members they knew.
function groupsAway() {
  for (const c of st.chats.values()) {
    if (c.kind === 'im' || c.ended || c.away) continue;
    c.away = true;
    c.rejoined = false;
    // the members, and those who left just before the drop: a stopping ymsgd ends the other sessions
    // first, so the last one connected hears everybody leave
    const recent = [...(c.leftAt || new Map())].filter(([, t]) => Date.now() - t < LEFT_RECENTLY_MS).map(([m]) => m);
    c.knew = [...new Set([...c.members, ...recent])].filter((m) => m !== st.user);
    c.leftAt = new Map();
    composer(c, false);
    line(c, 'sys', `You were disconnected: you will rejoin this ${KIND_TEXT[c.kind]} once the connection is back.`);
  }
}

function groupBack(c, text) {
  c.away = false;
  composer(c, true);
  renderMembers(c);
  line(c, 'sys', text);
}

const LEFT_RECENTLY_MS = 10000; // a member who left this shortly before a drop is invited back on a rejoin
const REJOIN_TRIES = 3; // a refused conference rejoin is tried again this many times

// One conference rejoin; false when the session refused it (the tab then says why and ends).
function rejoinConf(c) {
  if (!st.online || c.ended || st.chats.get(c.id) !== c) return false;
  const rc = st.session.confRejoin(c.name, c.knew);
  if (rc !== 0 && !st.session.groups().confs.some((x) => x.room === c.name && x.joined)) {
    c.away = false;
    groupEnded(c, `Reconnected, but could not rejoin ${c.name}: ${st.core.ymsgError(rc)}.`);
    return false;
  }
  c.rejoined = true;
  c.away = false;
  composer(c, true);
  pump();
  return true;
}

// Signed in again: back into each conference (0x19 with the members we knew, then 0x18 to them,
// as a client joins; whoever is back first re-opens it) and into the room (0x96 + 0x98).  ymsgd
// does not answer a conference join; it refuses the 0x18 when the conference goes on without us
// (conf_failed below), and a room answers with its join or a refusal (full, gone).
function rejoinGroups() {
  for (const c of st.chats.values()) {
    if (!c.away || c.ended) continue;
    if (c.kind === 'conf') {
      c.tries = 0;
      if (rejoinConf(c)) groupBack(c, `Reconnected: you are back in ${c.name}.`);
    } else {
      const rc = st.session.roomJoin(c.name, st.roomIds.get(c.name) || '0');
      if (rc !== 0) { c.away = false; groupEnded(c, `Reconnected, but could not rejoin ${c.name}: ${st.core.ymsgError(rc)}.`); }
    }
  }
  pump();
}

function groupSend(c) {
  const text = c.input.value.replace(/\s+$/, '');
  if (!text || c.ended) return;
  // ymsgd drops a longer room message without a word (chat_max_message, default 1024 bytes; Pidgin
  // itself stops at 948): say so here instead of losing it
  const bytes = enc.encode(text).length;
  if (c.kind === 'room' && bytes > ROOM_MAX_BYTES) {
    line(c, 'sys', `Not sent: ${bytes} bytes, a room message takes at most ${ROOM_MAX_BYTES}.`);
    return;
  }
  const rc = c.kind === 'conf' ? st.session.confSend(c.name, text) : st.session.roomSend(text);
  if (rc !== 0) { line(c, 'sys', `Not sent: ${st.core.ymsgError(rc)}`); return; }
  // the server echoes a conference message to its sender (the order every member sees); a room
  // message is never echoed, so it is shown here
  if (c.kind === 'room') line(c, 'me', text);
  c.input.value = '';
  pump();
}

function groupEvent(ev) {
  const kind = ev.type.startsWith('conf') ? 'conf' : 'room';
  const c = st.chats.get(groupKey(kind, ev.room));
  const live = c && !c.ended ? c : null;
  switch (ev.type) {
    case 'conf_invite': case 'room_invite':
      if (kind === 'conf' && live?.away && st.online && live.knew?.includes(ev.who)) {
        // the conference we wait to rejoin, from a member we knew: this is the way back in
        if (st.session.confJoin(ev.room) === 0) {
          if (live.rejoined) { live.away = false; composer(live, true); renderMembers(live); }
          else { live.rejoined = true; groupBack(live, `Reconnected: you are back in ${ev.room}.`); }
        }
        pump();
        break;
      }
      st.invites = st.invites.filter((i) => !(i.kind === kind && i.room === ev.room));
      st.invites.push({ kind, room: ev.room, who: ev.who, text: ev.text, list: ev.list ? ev.list.split('\n') : [] });
      renderInvites();
      banner(`${ev.who} invites you to the ${KIND_TEXT[kind]} ${ev.room}.`, 6000);
      break;
    case 'conf_join': case 'room_enter':
      if (live && renderMembers(live).length) line(live, 'sys', `${ev.who} joined.`);
      break;
    case 'conf_leave': case 'room_exit':
      if (live) { renderMembers(live); line(live, 'sys', `${ev.who} left.`); (live.leftAt ||= new Map()).set(ev.who, Date.now()); }
      break;
    case 'conf_decline':
      // ymsgd says "<id> is not available" in a decline for an invitee it could not reach (offline,
      // invisible or ignoring: the same words for each)
      if (live && ev.text === `${ev.who} is not available`) line(live, 'sys', `${ev.who} is not available.`);
      else if (live) line(live, 'sys', `${ev.who} declined the invitation${ev.text ? ': ' + ev.text : '.'}`);
      break;
    case 'conf_failed':
      if (live && ev.who) line(live, 'sys', `${ev.who} could not be invited: ${ev.text || 'not available'}.`);
      else if (live?.rejoined && (live.tries || 0) < REJOIN_TRIES) {
        // refused: it goes on without us for now.  A member back at the same moment may not have
        // re-invited us yet (ymsgd interleaves the sessions' packets): try again a little later.
        live.tries = (live.tries || 0) + 1;
        live.away = true; // an invitation from a member we knew meanwhile takes us back in (conf_invite)
        composer(live, false);
        setTimeout(() => { if (live.away) rejoinConf(live); }, 700 * live.tries);
      } else if (live?.rejoined) groupEnded(live, `Could not rejoin ${ev.room}: ${ev.text || 'not available'}. It goes on without you: a member can invite you again.`);
      else if (live) groupEnded(live, `The conference could not be opened: ${ev.text || 'not available'}.`);
      else banner(`Conference ${ev.room}: ${ev.who ? ev.who + ' ' : ''}${ev.text || 'not available'}`, 6000);
      break;
    case 'conf_message': case 'room_message': {
      if (!live) break;
      const mine = ev.who === st.user;
      const text = ev.on ? `* ${ev.who} ${ev.text}` : ev.text;
      line(live, mine ? 'me' : 'them', text, ev.time || Date.now() / 1000, ev.on ? 'emote' : '', false, ev.who);
      if (!mine) unread(live, `${ev.who}: ${ev.text}`);
      break;
    }
    case 'room_joined': {
      // one room at a time: joining another one left the previous room
      for (const o of st.chats.values()) if (o.kind === 'room' && o.name !== ev.room) groupEnded(o, `You left ${o.name}.`);
      const back = live?.away;
      const r = openGroup('room', ev.room, !back, !back);
      r.head.textContent = ev.text ? `Room ${ev.room}: ${ev.text}` : `Room ${ev.room}`;
      if (back) groupBack(r, `Reconnected: you are back in ${ev.room}.`);
      else { renderMembers(r); line(r, 'sys', `You are in ${ev.room}.`); }
      break;
    }
    case 'room_failed': {
      const away = [...st.chats.values()].find((o) => o.kind === 'room' && o.away && !o.ended);
      if (away) { // the room we were rejoining refused (full, gone)
        away.away = false;
        groupEnded(away, `Reconnected, but could not rejoin ${away.name}: ${ev.text || 'code ' + ev.code}.`);
        break;
      }
      if (live && ev.code === -1) line(live, 'sys', `Not delivered: ${ev.text}.`);
      else banner(`Cannot join ${ev.room || 'the room'}: ${ev.text || 'code ' + ev.code}`, 8000);
      $('rooms-status').textContent = `Cannot join ${ev.room || 'the room'}: ${ev.text || 'code ' + ev.code}`;
      break;
    }
    case 'room_logout':
      for (const o of st.chats.values()) if (o.kind === 'room') groupEnded(o, 'The server took you out of chat.');
      break;
    default: break;
  }
}

function renderInvites() {
  const box = $('invites');
  box.hidden = !st.invites.length;
  box.replaceChildren(el('h2', { class: 'small-title' }, 'Invitations'), ...st.invites.map((inv) => {
    const what = `${KIND_TEXT[inv.kind]} ${inv.room}`;
    const join = el('button', { type: 'button', class: 'primary', 'aria-label': `Join ${what}` }, 'Join');
    const no = el('button', { type: 'button', class: 'ghost danger', 'aria-label': `Decline ${what}` }, 'Decline');
    join.addEventListener('click', () => answerInvite(inv, true));
    no.addEventListener('click', () => answerInvite(inv, false));
    const others = inv.list.filter((m) => m !== inv.who && m !== st.user);
    return el('div', { class: 'request invite', role: 'group', 'aria-label': `Invitation to the ${what}` },
      el('div', {}, el('strong', {}, inv.who), ` invites you to the ${what}`,
        inv.text ? el('div', { class: 'muted' }, `“${inv.text}”`) : '',
        others.length ? el('div', { class: 'muted small' }, `Also in it: ${others.join(', ')}`) : ''),
      el('div', { class: 'row' }, join, no));
  }));
}

function answerInvite(inv, yes) {
  st.invites = st.invites.filter((i) => i !== inv);
  renderInvites();
  if ($('conn').textContent === `${inv.who} invites you to the ${KIND_TEXT[inv.kind]} ${inv.room}.`) banner('');
  if (!st.online) return;
  if (inv.kind === 'conf') {
    const rc = yes ? st.session.confJoin(inv.room) : st.session.confDecline(inv.room, 'No, thanks.');
    if (rc !== 0) banner(`Conference ${inv.room}: ${st.core.ymsgError(rc)}`, 6000);
    else if (yes) {
      const c = openGroup('conf', inv.room, true, true);
      renderMembers(c);
      line(c, 'sys', `You joined ${inv.who}'s conference.`);
    }
  } else if (yes) {
    const rc = st.session.roomJoin(inv.room);
    if (rc !== 0) banner(`Cannot join ${inv.room}: ${st.core.ymsgError(rc)}`, 6000);
  }
  pump();
}

// The invite dialog: a new conference (c = null) or more people for an open conference or room.
function openInviteDialog(c) {
  st.inviteTo = c;
  $('invite-title').textContent = c ? `Invite to ${c.name}` : 'New conference';
  const online = st.roster.buddies.filter((b) => b.online && !(c && c.members.includes(b.id)));
  $('invite-buddies').replaceChildren(...online.map((b) =>
    el('label', { class: 'check' }, el('input', { type: 'checkbox', value: b.id }), b.id)));
  $('invite-none').hidden = online.length > 0;
  $('invite-ids').value = '';
  $('invite-msg').value = c?.kind === 'room' ? 'Come to this room' : 'Join my conference';
  $('invite-error').textContent = '';
  $('invite-dlg').showModal();
  (online.length ? $('invite-buddies').querySelector('input') : $('invite-ids')).focus();
}

function inviteSubmit(e) {
  e.preventDefault();
  const picked = [...$('invite-buddies').querySelectorAll('input:checked')].map((x) => x.value);
  const typed = $('invite-ids').value.toLowerCase().split(/[\s,;]+/).filter(Boolean);
  const ids = [...new Set([...picked, ...typed])].filter((x) => x !== st.user);
  const msg = $('invite-msg').value.trim();
  if (!ids.length) { $('invite-error').textContent = 'Pick a buddy or type an ID.'; return; }
  if (!st.online) { $('invite-error').textContent = 'Not signed in.'; return; }
  const c = st.inviteTo;
  try {
    if (!c) {
      const room = st.session.confCreate(ids, msg);
      const g = openGroup('conf', room, true, true);
      renderMembers(g);
      line(g, 'sys', `You invited ${ids.join(', ')}.`);
    } else {
      for (const id of ids) {
        const rc = c.kind === 'conf' ? st.session.confInvite(c.name, id, msg) : st.session.roomInvite(id, msg);
        if (rc !== 0) throw new Error(`${id}: ${st.core.ymsgError(rc)}`);
      }
      line(c, 'sys', `You invited ${ids.join(', ')}.`);
    }
  } catch (err) {
    $('invite-error').textContent = `Cannot invite: ${err.message}`;
    pump();
    return;
  }
  pump();
  $('invite-dlg').close();
}

// The rooms dialog: the room list ymsgd serves where Pidgin and libyahoo2 fetch it (/ycontent/,
// docs/CHAT_ROOMS.md §3), categories first, then each category's rooms.
async function ycontent(query) {
  const r = await fetch(`/ycontent/?${query}&intl=us`, { cache: 'no-store' });
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  const doc = new DOMParser().parseFromString(await r.text(), 'text/xml');
  if (doc.querySelector('parsererror')) throw new Error('the room list is not XML');
  return doc;
}

async function openRooms() {
  const box = $('rooms-list');
  $('rooms-status').textContent = 'Loading the room list…';
  box.replaceChildren();
  $('rooms-dlg').showModal();
  try {
    const cats = [...(await ycontent('chatcat=0')).querySelectorAll('category')]
      .map((x) => ({ id: x.getAttribute('id'), name: x.getAttribute('name') }));
    const lists = await Promise.all(cats.map((cat) => ycontent(`chatroom_${encodeURIComponent(cat.id)}=0`)));
    box.replaceChildren(...cats.map((cat, i) => {
      const rooms = [...lists[i].querySelectorAll('room')];
      return el('section', { class: 'room-cat', 'aria-label': cat.name }, el('h3', {}, cat.name),
        el('ul', { role: 'list' }, ...rooms.map((x) => {
          const name = x.getAttribute('name'), topic = x.getAttribute('topic') || '';
          const b = el('button', { type: 'button', class: 'room-pick', 'data-room': name },
            el('span', { class: 'name' }, name), el('span', { class: 'muted small' }, topic));
          b.addEventListener('click', () => joinRoom(name, x.getAttribute('id') || '0'));
          return el('li', {}, b);
        })));
    }));
    $('rooms-status').textContent = cats.length ? '' : 'This server has no chat rooms.';
    box.querySelector('button')?.focus();
  } catch (err) {
    $('rooms-status').textContent = `Cannot load the room list: ${err.message}`;
  }
}

function joinRoom(name, id) {
  if (!st.online) return;
  st.roomIds.set(name, id); // its id again when the page rejoins it after a reconnect
  const rc = st.session.roomJoin(name, id);
  if (rc !== 0) { $('rooms-status').textContent = `Cannot join ${name}: ${st.core.ymsgError(rc)}`; return; }
  $('rooms-status').textContent = `Joining ${name}…`;
  pump();
  $('rooms-dlg').close();
}

// ---------------------------------------------------------------- UI plumbing
function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const k of kids) if (k !== '' && k != null) e.append(k);
  return e;
}

let bannerTimer = 0;
function banner(text, ms = 0) {
  const b = $('conn');
  clearTimeout(bannerTimer);
  b.textContent = text;
  b.hidden = !text;
  if (text && ms) bannerTimer = setTimeout(() => { b.hidden = true; }, ms);
}

function showMain() {
  $('signin').hidden = true;
  $('main').hidden = false;
  $('me').textContent = st.user;
  if (st.wantStatus === STATUS.INVISIBLE) $('status').value = '12';
  document.body.dataset.online = '1';
  findRelay();
  renderRoster();
  if (st.wantStatus && st.wantStatus !== STATUS.INVISIBLE) applyStatus();
}

function showSignin() {
  $('main').hidden = true;
  $('signin').hidden = false;
  document.body.dataset.online = '0';
  $('signin-btn').disabled = false;
  $('pass').focus();
}

function applyStatus() {
  const v = Number($('status').value);
  $('status-msg').hidden = v !== 99;
  st.wantStatus = v;
  if (!st.online) return;
  if (v === 99) st.session.setStatus(99, $('status-msg').value || 'Busy', 1);
  else st.session.setStatus(v, '', v === 0 ? 0 : 1);
  pump();
}

async function signIn(e) {
  e.preventDefault();
  st.user = $('user').value.trim().toLowerCase();
  st.pass = $('pass').value;
  st.wantStatus = $('invisible').checked ? STATUS.INVISIBLE : 0;
  $('signin-error').textContent = '';
  $('signin-btn').disabled = true;
  st.signingIn = true;
  st.retry = 0;
  try {
    st.core ||= await st.corePromise;
    connect();
  } catch (err) {
    st.signingIn = false;
    $('signin-error').textContent = `Cannot start: ${err.message}`;
    $('signin-btn').disabled = false;
  }
}

function signOut() {
  st.stopped = true;
  clearTimeout(st.retryTimer);
  if (st.session && st.online) { st.session.logoff(); pump(); }
  setTimeout(() => { st.ws?.close(1000); }, 200);
  st.online = false;
  st.pass = '';
  for (const id of [...st.chats.keys()]) closeChat(id);
  st.invites = [];
  renderInvites();
  banner('');
  showSignin();
}

function main() {
  $('signin').addEventListener('submit', signIn);
  $('signout').addEventListener('click', signOut);
  $('back').addEventListener('click', () => { document.body.classList.remove('chatting'); $('roster').querySelector('button')?.focus(); });
  $('status').addEventListener('change', applyStatus);
  $('status-msg').addEventListener('change', applyStatus);
  $('add').addEventListener('submit', (e) => {
    e.preventDefault();
    const id = $('add-id').value.trim().toLowerCase();
    if (!id || !st.online) return;
    const rc = st.session.addBuddy(id, $('add-group').value.trim() || 'Friends', $('add-msg').value.trim());
    if (rc !== 0) banner(`Cannot add ${id}: ${st.core.ymsgError(rc)}`, 6000);
    else { $('add-id').value = ''; $('add-msg').value = ''; banner(`Asked ${id} to add you.`, 4000); }
    pump();
  });
  $('new-conf').addEventListener('click', () => openInviteDialog(null));
  $('rooms-btn').addEventListener('click', openRooms);
  $('invite-form').addEventListener('submit', inviteSubmit);
  $('invite-cancel').addEventListener('click', () => $('invite-dlg').close());
  $('rooms-close').addEventListener('click', () => $('rooms-dlg').close());
  $('notify').addEventListener('click', async () => {
    if (!('Notification' in window)) { banner('This browser has no desktop notifications.', 4000); return; }
    if (!st.notify && Notification.permission !== 'granted') await Notification.requestPermission();
    st.notify = !st.notify && Notification.permission === 'granted';
    $('notify').setAttribute('aria-pressed', String(st.notify));
    if (!st.notify && Notification.permission === 'denied') banner('Notifications are blocked for this site.', 4000);
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && st.active) { const c = st.chats.get(st.active); c.unread = 0; badge(c); title(); renderRoster(); }
  });
  $('app').addEventListener('animationend', () => $('app').classList.remove('shake'));
  // compile the wasm core while the person types
  st.corePromise = loadCore();
  st.corePromise.catch(() => {}); // reported at sign-in
  document.body.dataset.ready = '1';
}

main();
