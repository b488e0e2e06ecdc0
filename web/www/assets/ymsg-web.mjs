// The browser side of our C: loads ymsg.wasm (libymsg's sans-IO session + libamf, built from lib/
// by web/meson.build) and wraps its exported functions.  No I/O happens here either: the pages own
// fetch() and the WebSocket.
import createYmsg from './ymsg.mjs';

const enc = new TextEncoder();
const dec = new TextDecoder();

export class Core {
  constructor(m) { this.m = m; }

  // A NUL-terminated UTF-8 copy of s in wasm memory; free with this.free().
  str(s) {
    const b = enc.encode(String(s ?? ''));
    const p = this.m._yw_alloc(b.length + 1);
    this.m.HEAPU8.set(b, p);
    this.m.HEAPU8[p + b.length] = 0;
    return p;
  }
  bytes(u8) {
    const p = this.m._yw_alloc(u8.length);
    this.m.HEAPU8.set(u8, p);
    return p;
  }
  free(...ps) { for (const p of ps) this.m._yw_free(p); }
  // Runs fn with the strings copied in, frees them after.
  withStrs(strs, fn) {
    const ps = strs.map((s) => this.str(s));
    try { return fn(...ps); } finally { this.free(...ps); }
  }
  // The output buffer after a call that returned n (< 0: an error code).
  outBytes(n) {
    if (n < 0) throw new CoreError(n, this.amfError(n));
    const p = this.m._yw_out_ptr();
    return this.m.HEAPU8.slice(p, p + n);
  }
  outJson(n) { return JSON.parse(dec.decode(this.outBytes(n))); }
  amfError(code) { return this.m.UTF8ToString(this.m._yw_amf_strerror(code)); }
  ymsgError(code) { return this.m.UTF8ToString(this.m._ymsg_strerror(code)); }

  // ---- AMF: Flex messages as a RemoteObject sends them --------------------------------------
  // msgs: [{kind:'command'|'remoting', ...}] (see web/wasm/amf_web.c); returns the packet bytes.
  flexRequest(msgs) {
    return this.withStrs([JSON.stringify(msgs)], (p) => this.outBytes(this.m._yw_amf_flex_request(p)));
  }
  // A remoting packet to {version, bodies:[{target, response, value, flex}]}.
  decodePacket(u8) {
    const p = this.bytes(u8);
    try { return this.outJson(this.m._yw_amf_decode_packet(p, u8.length)); } finally { this.free(p); }
  }

  // ---- auth primitives (vectors) ------------------------------------------------------------
  auth16(crumb, challenge) {
    const out = this.m._yw_alloc(25);
    try {
      const rc = this.withStrs([crumb, challenge], (a, b) => this.m._ymsg_auth16_response(a, b, out));
      if (rc) throw new CoreError(rc, this.ymsgError(rc));
      return this.m.UTF8ToString(out);
    } finally { this.free(out); }
  }
  method0(user, pass, challenge) {
    const r6 = this.m._yw_alloc(25), r96 = this.m._yw_alloc(25);
    try {
      const rc = this.withStrs([user, pass, challenge], (u, p, c) => this.m._ymsg_auth_method0(u, p, c, r6, r96));
      if (rc) throw new CoreError(rc, this.ymsgError(rc));
      return [this.m.UTF8ToString(r6), this.m.UTF8ToString(r96)];
    } finally { this.free(r6, r96); }
  }

  session(user, password, opts = {}) { return new Session(this, user, password, opts); }
}

export class CoreError extends Error {
  constructor(code, text) { super(text); this.code = code; }
}

// Session states (enum ymsg_session_state).
export const SS = { IDLE: 0, AUTH: 1, TOKEN: 2, CRUMB: 3, AUTHRESP: 4, ONLINE: 5, CLOSED: 6 };
export const STATUS = { AVAILABLE: 0, BRB: 1, BUSY: 2, NOTATHOME: 3, NOTATDESK: 4, NOTINOFFICE: 5,
  ONPHONE: 6, ONVACATION: 7, OUTTOLUNCH: 8, STEPPEDOUT: 9, INVISIBLE: 12, CUSTOM: 99, IDLE: 999 };

// One ymsg_session.  The driver (the page) calls output()/consume(), feed(), tick(), events().
export class Session {
  constructor(core, user, password, { status = 0, loginUrl = '' } = {}) {
    this.core = core;
    const m = core.m;
    this.p = core.withStrs([user, password, loginUrl], (u, pw, url) => m._yw_session_new(u, pw, status, url));
    if (!this.p) throw new CoreError(-9, 'cannot create the session (bad id or password)');
  }
  get m() { return this.core.m; }
  start(now = performance.now()) { return this.m._yw_session_start(this.p, now); }
  // Pending output as a copy (the caller sends it, then consume(n)).
  output() {
    const n = this.m._yw_session_output(this.p);
    if (!n) return null;
    const ptr = this.m._yw_session_pending_ptr();
    return this.m.HEAPU8.slice(ptr, ptr + n);
  }
  consume(n) { this.m._ymsg_session_consume(this.p, n); }
  feed(u8) {
    const p = this.core.bytes(u8);
    try { return this.m._ymsg_session_feed(this.p, p, u8.length); } finally { this.core.free(p); }
  }
  tick(now = performance.now()) { return this.m._yw_session_tick(this.p, now); }
  timeout(now = performance.now()) { return this.m._yw_session_timeout(this.p, now); }
  httpResponse(status, headers, body) {
    const h = enc.encode(headers || ''), b = enc.encode(body || '');
    const hp = this.core.bytes(h), bp = this.core.bytes(b);
    try { return this.m._ymsg_session_http_response(this.p, status, hp, h.length, bp, b.length); }
    finally { this.core.free(hp, bp); }
  }
  close(reason) { this.core.withStrs([reason], (r) => this.m._ymsg_session_close(this.p, r)); }
  *events() {
    for (;;) {
      const n = this.m._yw_session_event(this.p);
      if (n <= 0) return;
      yield this.core.outJson(n);
    }
  }
  roster() { return this.core.outJson(this.m._yw_session_roster(this.p)); }
  state() { return this.m._ymsg_session_state(this.p); }
  sendMessage(to, text) { return this.core.withStrs([to, text], (a, b) => this.m._ymsg_session_send_message(this.p, a, b)); }
  buzz(to) { return this.core.withStrs([to], (a) => this.m._ymsg_session_buzz(this.p, a)); }
  typing(to, on) { return this.core.withStrs([to], (a) => this.m._ymsg_session_typing(this.p, a, on ? 1 : 0)); }
  setStatus(status, msg = '', away = 0) {
    return this.core.withStrs([msg], (a) => this.m._ymsg_session_set_status(this.p, status, a, away));
  }
  addBuddy(who, group, msg = '') {
    return this.core.withStrs([who, group, msg], (a, b, c) => this.m._ymsg_session_add_buddy(this.p, a, b, c));
  }
  removeBuddy(who, group) {
    return this.core.withStrs([who, group], (a, b) => this.m._ymsg_session_remove_buddy(this.p, a, b));
  }
  authReply(who, accept, msg = '') {
    return this.core.withStrs([who, msg], (a, b) => this.m._ymsg_session_auth_reply(this.p, a, accept ? 1 : 0, b));
  }
  logoff() { return this.m._ymsg_session_logoff(this.p); }

  // ---- conferences and the chat room (what the server told the session: nothing more) --------
  // {confs:[{room, inviter, joined, members}], room, roomMembers}
  groups() { return this.core.outJson(this.m._yw_session_groups(this.p)); }
  // Invites ids to a new conference ('' room: "<me>-<n>"); returns its name, throws CoreError.
  confCreate(ids, msg = '', room = '') {
    return this.core.withStrs([room, ids.join('\n'), msg], (r, w, t) => {
      const n = this.m._yw_conf_create(this.p, r, w, t);
      if (n < 0) throw new CoreError(n, this.core.ymsgError(n));
      return dec.decode(this.core.outBytes(n));
    });
  }
  confInvite(room, who, msg = '') {
    return this.core.withStrs([room, who, msg], (a, b, c) => this.m._ymsg_session_conf_invite(this.p, a, b, c));
  }
  // Back in a conference after a reconnect, with the members we knew (0x19, then 0x18 to them).
  confRejoin(room, ids) {
    return this.core.withStrs([room, ids.join('\n')], (r, w) => this.m._yw_conf_rejoin(this.p, r, w));
  }
  confJoin(room) { return this.core.withStrs([room], (a) => this.m._ymsg_session_conf_join(this.p, a)); }
  confDecline(room, msg = '') {
    return this.core.withStrs([room, msg], (a, b) => this.m._ymsg_session_conf_decline(this.p, a, b));
  }
  confLeave(room) { return this.core.withStrs([room], (a) => this.m._ymsg_session_conf_leave(this.p, a)); }
  confSend(room, text) { return this.core.withStrs([room, text], (a, b) => this.m._ymsg_session_conf_send(this.p, a, b)); }
  roomJoin(room, id = '0') { return this.core.withStrs([room, id], (a, b) => this.m._ymsg_session_room_join(this.p, a, b)); }
  roomLeave() { return this.m._ymsg_session_room_leave(this.p); }
  roomSend(text, emote = false) { return this.core.withStrs([text], (a) => this.m._ymsg_session_room_send(this.p, a, emote ? 1 : 0)); }
  // ---- file transfer: the page moves the bytes (FILE_UPLOAD / FILE_DOWNLOAD events), the session the packets
  // Offers name (size bytes) to who; returns the transfer id, throws CoreError.
  fileSend(who, name, size) {
    return this.core.withStrs([who, name], (a, b) => {
      const n = this.m._yw_file_send(this.p, a, b, size);
      if (n < 0) throw new CoreError(n, this.core.ymsgError(n));
      return dec.decode(this.core.outBytes(n));
    });
  }
  fileAccept(id) { return this.core.withStrs([id], (a) => this.m._ymsg_session_file_accept(this.p, a)); }
  fileDecline(id) { return this.core.withStrs([id], (a) => this.m._ymsg_session_file_decline(this.p, a)); }
  fileCancel(id) { return this.core.withStrs([id], (a) => this.m._ymsg_session_file_cancel(this.p, a)); }
  fileProgress(id, done) { return this.core.withStrs([id], (a) => this.m._yw_file_progress(this.p, a, done)); }
  // result 0: every byte moved; else a negative YMSG_E* (the session cancels with the peer).
  fileDone(id, result = 0) { return this.core.withStrs([id], (a) => this.m._ymsg_session_file_done(this.p, a, result)); }
  roomInvite(who, msg = '') { return this.core.withStrs([who, msg], (a, b) => this.m._ymsg_session_room_invite(this.p, a, b)); }
  free() { if (this.p) this.m._ymsg_session_free(this.p); this.p = 0; }
}

// opts: passed to the emscripten module (tests give wasmBinary; the page lets it fetch ymsg.wasm).
export async function loadCore(opts = {}) {
  return new Core(await createYmsg(opts));
}
