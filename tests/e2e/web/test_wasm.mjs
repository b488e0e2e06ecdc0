// The WebAssembly build of libymsg + libamf against the vectors the C tests use: auth responses
// (tests/unit/ymsg/test_auth.c and the native auth_cli), a real Flash CommandMessage capture
// (shared/fixtures/amf/rocketamf), and a whole token login driven through the sans-IO session.
// Usage: node --test test_wasm.mjs  with  YMSG_WWW=<build>/web/www  YMSG_AUTH_CLI=<auth_cli>
//        YMSG_SHARED=<source>/../shared
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const www = process.env.YMSG_WWW;
const shared = process.env.YMSG_SHARED;
if (!www || !existsSync(path.join(www, 'ymsg.wasm')))
  throw new Error(`FAIL: ${www}/ymsg.wasm is missing: the wasm build did not run (install emscripten: scripts/deps.sh test)`);
const { loadCore, SS } = await import(pathToFileURL(path.join(www, 'ymsg-web.mjs')));
const core = await loadCore({ wasmBinary: readFileSync(path.join(www, 'ymsg.wasm')) });

const hex = (s) => Buffer.from(s, 'utf8').toString('hex') || '-';

test('auth16 vectors (YMSG.md §9.3, §13.2, MD5 of nothing)', () => {
  assert.equal(core.auth16('GbYfS1Jq1Dk', 'g.4Y5SJZ6nkFAoUfqKMHGbvIAsSjH4ZUWVqcpg--'), 'XNWI3fXT9Q9MrFsA40flsA--');
  assert.equal(core.auth16('CRUMBalice', 'x^0+1-2*3/4%5'), 'BQE_U9_xt0ZH3ezzSTx8bA--');
  assert.equal(core.auth16('', ''), '1B2M2Y8AsgTpgAmY7PhCfg--');
});

test('method-0 responses equal the native build (OpenSSL MD5 + libcrypt md5crypt)', () => {
  const cli = process.env.YMSG_AUTH_CLI;
  assert.ok(cli && existsSync(cli), `native auth_cli missing: ${cli}`);
  const cases = [['alice', 'secret', 'ZLDf53MhvtLtBxSAeupbLw8K'], ['bob', 'pässwörd😀', 'x^0+1-2*3/4%5abcdefgh'],
    ['c', 'a-much-longer-password-than-sixteen-bytes-0123456789', 'ZLDf53MhvtLtBxSAeupbLw8L'],
    ['d', 'p', '0123456789abcdef+(|&^%$'], ['e', 'x'.repeat(64), 'ZLDf53MhvtLtBxSAeupbLw8K']];
  const input = cases.map(([u, p, c]) => `method0 ${hex(u)} ${hex(p)} ${hex(c)}\n`).join('');
  const lines = execFileSync(cli, { input }).toString().trim().split('\n');
  assert.equal(lines.length, cases.length);
  cases.forEach(([u, p, c], i) => assert.equal(core.method0(u, p, c).join(' '), lines[i], `case ${i}`));
});

test('a Flex ping encodes byte for byte as Flash sent it (rocketamf commandMessage.bin)', () => {
  const want = readFileSync(path.join(shared, 'fixtures/amf/rocketamf/request/commandMessage.bin'));
  const got = core.flexRequest([{ kind: 'command', operation: 5, messageId: '7B0ACE15-8D57-6AE5-B9D4-99C2D32C8246',
    headers: { DSMessagingVersion: 1, DSId: 'nil' } }]);
  assert.equal(Buffer.from(got).toString('hex'), want.toString('hex'));
});

test('Flex packets decode to their messages (RemotingMessage, Ack, BlazeDS reply)', () => {
  const fx = (n) => readFileSync(path.join(shared, 'fixtures/amf/rocketamf/request', n));
  const r = core.decodePacket(fx('remotingMessage.bin'));
  assert.equal(r.version, 3);
  assert.equal(r.bodies[0].response, '/2');
  assert.equal(r.bodies[0].flex.kind, 'remoting');
  assert.equal(r.bodies[0].flex.messageId, 'FE4AF2BC-DD3C-5470-05D8-9971D51FF89D');
  assert.deepEqual(r.bodies[0].flex.body, [true]);
  for (const n of ['acknowledge-response.bin', 'blaze-response.bin']) {
    const a = core.decodePacket(fx(n));
    assert.match(a.bodies[0].target, /onResult$/, n);
    assert.equal(a.bodies[0].flex.kind, 'ack', n);
  }
});

test('remoting request round trip with typed PhoneEntry objects and UTF-8', () => {
  const list = [{ $class: 'PhoneEntry', name: 'Zoë 😀', phone: '+1 555', email: 'z@example.com' }];
  const bytes = core.flexRequest([{ kind: 'remoting', operation: 'sync', source: 'Phonebook', destination: 'Phonebook',
    messageId: 'A', clientId: 'C', dsId: 'C', endpoint: 'my-amf', body: [list] }]);
  const d = core.decodePacket(bytes);
  assert.equal(d.bodies[0].target, 'null');
  assert.equal(d.bodies[0].response, '/1');
  const m = d.bodies[0].flex;
  assert.equal(m.kind, 'remoting');
  assert.equal(m.clientId, 'C');
  assert.deepEqual(m.body, [list]);
});

test('bad requests are refused with an error, nothing encoded', () => {
  assert.throws(() => core.flexRequest([]), /invalid|argument/i);
  assert.throws(() => core.flexRequest([{ kind: 'bogus' }]));
  assert.throws(() => core.decodePacket(new Uint8Array([0, 3, 0, 0, 0, 1, 0])), (e) => e.code < 0);
});

// A YMSG packet as the server would send it (header + key/value pairs joined by C0 80).
function packet(service, status, sid, pairs) {
  const parts = [];
  for (const [k, v] of pairs) parts.push(Buffer.from(String(k)), Buffer.from([0xc0, 0x80]), Buffer.from(v), Buffer.from([0xc0, 0x80]));
  const body = Buffer.concat(parts);
  const h = Buffer.alloc(20);
  h.write('YMSG', 0); h.writeUInt16BE(0x10, 4); h.writeUInt16BE(body.length, 8);
  h.writeUInt16BE(service, 10); h.writeUInt32BE(status, 12); h.writeUInt32BE(sid, 16);
  return Buffer.concat([h, body]);
}

test('the session runs the whole token login and answers the challenge with auth16', () => {
  const s = core.session('Alice', 'pw ä', { loginUrl: 'http://127.0.0.1:9' });
  assert.equal(s.start(0), 0);
  let out = Buffer.from(s.output());
  s.consume(out.length);
  assert.equal(out.subarray(0, 4).toString(), 'YMSG');
  assert.equal(out.readUInt16BE(10), 0x57);
  assert.ok(out.includes('alice'));
  const challenge = 'g.4Y5SJZ6nkFAoUfqKMHGbvIAsSjH4ZUWVqcpg--';
  // one byte at a time: the session reassembles like on TCP
  for (const b of packet(0x57, 1, 77, [[1, 'alice'], [94, challenge], [13, '2']])) s.feed(new Uint8Array([b]));
  let ev = [...s.events()];
  assert.equal(ev[0].type, 'http_get');
  assert.match(ev[0].text, /^http:\/\/127\.0\.0\.1:9\/config\/pwtoken_get\?.*login=alice.*passwd=pw%20%C3%A4/);
  assert.equal(s.state(), SS.TOKEN);
  s.httpResponse(200, '', '0\r\nymsgr=TOKEN1\r\npartnerid=x\r\n');
  ev = [...s.events()];
  assert.match(ev[0].text, /pwtoken_login\?.*token=TOKEN1/);
  s.httpResponse(200, '', '0\r\ncrumb=GbYfS1Jq1Dk\r\nY=v=1&n=a\r\nT=z=b\r\ncookievalidfor=86400\r\n');
  out = Buffer.from(s.output());
  assert.equal(out.readUInt16BE(10), 0x54);
  assert.ok(out.includes('XNWI3fXT9Q9MrFsA40flsA--'), 'key 307 carries auth16(crumb, challenge)');
  s.consume(out.length);
  s.feed(packet(0xf1, 0, 77, [[65, 'Friends'], [7, 'bob'], [301, '319'], [300, '319']]));
  s.feed(packet(0xf0, 0, 77, [[7, 'bob'], [10, '99'], [19, 'hi 😀'], [13, '1']]));
  ev = [...s.events()];
  const r = s.roster();
  assert.equal(r.me, 'alice');
  assert.ok(ev.some((e) => e.type === 'logged_in' || e.type === 'buddy_list'), JSON.stringify(ev));
  const bob = r.buddies.find((b) => b.id === 'bob');
  assert.ok(bob, JSON.stringify(r));
  assert.equal(bob.group, 'Friends');
  s.free();
});

test('a wrong password (pwtoken_get 1212) is a login failure with the code', () => {
  const s = core.session('alice', 'wrong', { loginUrl: 'http://127.0.0.1:9' });
  s.start(0); s.consume(s.output().length);
  s.feed(packet(0x57, 1, 1, [[1, 'alice'], [94, 'abc'], [13, '2']]));
  [...s.events()];
  s.httpResponse(200, '', '1212\r\n');
  const ev = [...s.events()];
  const f = ev.find((e) => e.type === 'login_failed');
  assert.ok(f, JSON.stringify(ev));
  assert.equal(f.code, 1212);
  assert.equal(s.state(), SS.CLOSED);
  s.free();
});

// A session logged in as alice (the token login of the test above, condensed).
function online() {
  const s = core.session('alice', 'pw', { loginUrl: 'http://127.0.0.1:9' });
  s.start(0); s.consume(s.output().length);
  s.feed(packet(0x57, 1, 77, [[1, 'alice'], [94, 'g.4Y5SJZ6nkFAoUfqKMHGbvIAsSjH4ZUWVqcpg--'], [13, '2']]));
  [...s.events()];
  s.httpResponse(200, '', '0\r\nymsgr=T\r\npartnerid=x\r\n');
  [...s.events()];
  s.httpResponse(200, '', '0\r\ncrumb=c\r\nY=v=1&n=a\r\nT=z=b\r\ncookievalidfor=86400\r\n');
  s.consume(s.output().length);
  s.feed(packet(0xf1, 0, 77, [[65, 'Friends'], [7, 'bob']]));
  s.feed(packet(0xf0, 0, 77, [[7, 'bob'], [10, '0'], [13, '1']]));
  [...s.events()];
  assert.equal(s.state(), SS.ONLINE);
  s.consume(s.output()?.length || 0);
  return s;
}
// The keys of the one packet waiting in the output, as [key, value] pairs.
function sentKeys(s) {
  const out = Buffer.from(s.output());
  s.consume(out.length);
  const parts = out.subarray(20).toString('latin1').split('\xc0\x80').map((x) => Buffer.from(x, 'latin1').toString('utf8'));
  const kv = [];
  for (let i = 0; i + 1 < parts.length; i += 2) kv.push([Number(parts[i]), parts[i + 1]]);
  return { service: out.readUInt16BE(10), kv };
}

test('conferences through the binding: yw_conf_create refuses bad invitee lists, sends 0x18, groups() follows', () => {
  const s = online();
  // no invitee, an id longer than YMSG_ID_MAX, more than 64: refused with EINVAL, nothing queued
  for (const ids of [[], ['', ''], ['x'.repeat(97)], Array.from({ length: 65 }, (_, i) => `u${i}`)]) {
    assert.throws(() => s.confCreate(ids, 'hi'), (e) => e.code === -9, JSON.stringify(ids).slice(0, 40));
    assert.equal(s.output(), null);
  }
  assert.deepEqual(s.groups(), { confs: [], room: '', roomMembers: [] });
  const room = s.confCreate(['bob', 'carol'], 'trip ä');
  assert.match(room, /^alice-\d+$/); // Pidgin's "<me>-<n>" (refused calls used numbers too)
  const p = sentKeys(s);
  assert.equal(p.service, 0x18);
  assert.deepEqual(p.kv, [[1, 'alice'], [50, 'alice'], [52, 'bob'], [52, 'carol'], [57, room], [58, 'trip ä'], [13, '0']]);
  assert.deepEqual(s.groups().confs, [{ joined: 1, room, inviter: '', members: ['alice'] }]);
  // bob joins (0x19 53=bob) and speaks (0x1D); the events carry the room
  s.feed(packet(0x19, 1, 77, [[1, 'alice'], [53, 'bob'], [57, room]]));
  s.feed(packet(0x1d, 1, 77, [[1, 'alice'], [3, 'bob'], [57, room], [14, 'hé'], [97, '1']]));
  const ev = [...s.events()].map((e) => [e.type, e.who, e.room, e.text]);
  assert.deepEqual(ev, [['conf_join', 'bob', room, ''], ['conf_message', 'bob', room, 'hé']]);
  assert.deepEqual(s.groups().confs[0].members, ['alice', 'bob']);
  // an invitation from dave names its members in the event's list
  s.feed(packet(0x18, 1, 77, [[1, 'alice'], [50, 'dave'], [57, 'dave-3'], [58, 'come'], [52, 'alice'], [53, 'erin'], [13, '0']]));
  const inv = [...s.events()].find((e) => e.type === 'conf_invite');
  assert.deepEqual([inv.who, inv.room, inv.text, inv.list], ['dave', 'dave-3', 'come', 'dave\nerin']);
  assert.equal(s.groups().confs.find((c) => c.room === 'dave-3').joined, 0);
  assert.equal(s.confDecline('dave-3', 'no'), 0);
  assert.equal(sentKeys(s).service, 0x1a);
  assert.equal(s.confSend('nope', 'x'), -10); // YMSG_ENOENT: no such conference
  s.free();
});

test('a chat room through the binding: 0x96 then 0x98, the member list in groups()', () => {
  const s = online();
  assert.equal(s.roomJoin('Linux', '1600100001'), 0);
  assert.equal(sentKeys(s).service, 0x96);
  s.feed(packet(0x96, 1, 77, [[1, 'alice']]));
  assert.deepEqual(sentKeys(s), { service: 0x98, kv: [[1, 'alice'], [104, 'Linux'], [62, '2'], [129, '1600100001']] });
  s.feed(packet(0x98, 1, 77, [[1, 'alice'], [104, 'Linux'], [105, 'Penguins'], [108, '2'], [128, '1600000001'],
    [129, '1600100001'], [130, '1'], [61, '0'], [13, '1'], [109, 'bob'], [110, '0'], [113, '0'], [109, 'alice'], [110, '0'], [113, '0']]));
  const j = [...s.events()].find((e) => e.type === 'room_joined');
  assert.deepEqual([j.room, j.text], ['Linux', 'Penguins']);
  assert.deepEqual(j.list.split('\n').sort(), ['alice', 'bob']);
  assert.deepEqual(s.groups().room, 'Linux');
  assert.deepEqual([...s.groups().roomMembers].sort(), ['alice', 'bob']);
  assert.equal(s.roomSend('hi'), 0);
  assert.deepEqual(sentKeys(s).service, 0xa8);
  assert.equal(s.roomLeave(), 0);
  assert.equal(s.groups().room, '');
  s.free();
});

test('file transfer through the binding: yw_file_send refuses bad sizes, the 0xDC offer, events with the relay URL', () => {
  const s = online();
  // 0, negative, NaN, fractional-free but past 2^53: refused with EINVAL, nothing queued
  for (const n of [0, -1, NaN, Infinity, 2 ** 54]) {
    assert.throws(() => s.fileSend('bob', 'a.txt', n), (e) => e.code === -9, String(n));
    assert.equal(s.output(), null);
  }
  assert.throws(() => s.fileSend('alice', 'a.txt', 5), (e) => e.code === -9, 'to oneself');
  const id = s.fileSend('bob', 'photo é.jpg', 2 ** 40 + 3); // sizes past 32 bits survive the double
  const p = sentKeys(s);
  assert.equal(p.service, 0xdc);
  assert.deepEqual(p.kv.filter(([k]) => [5, 265, 222, 27, 28].includes(k)),
    [[5, 'bob'], [265, id], [222, '1'], [27, 'photo é.jpg'], [28, String(2 ** 40 + 3)]]);
  // bob accepts; the session sends 0xDD; the server's 0xDE gives the token: upload at the relay URL
  s.feed(packet(0xdc, 1, 77, [[4, 'bob'], [5, 'alice'], [265, id], [222, '3']]));
  assert.equal(sentKeys(s).service, 0xdd);
  s.feed(packet(0xde, 1, 77, [[4, 'bob'], [5, 'alice'], [265, id], [27, 'photo é.jpg'], [249, '3'], [251, 'a'.repeat(32)], [250, '127.0.0.1:5101']]));
  const up = [...s.events()].find((e) => e.type === 'file_upload');
  assert.equal(up.xfer, id);
  assert.equal(up.text, `http://127.0.0.1:5101/relay?token=${'a'.repeat(32)}&sender=alice&recver=bob`);
  assert.equal(s.fileProgress(id, 2 ** 33), 0);
  assert.equal(s.fileProgress(id, -1), -9);
  assert.equal(s.fileDone(id, 0), 0);
  const done = [...s.events()].find((e) => e.type === 'file_done');
  assert.deepEqual([done.code, done.on, done.xfer], [0, 1, id]);
  assert.equal(s.fileDone(id, 0), -10); // YMSG_ENOENT: over
  // an offer from bob: accept answers 222=3
  s.feed(packet(0xdc, 1, 77, [[4, 'bob'], [5, 'alice'], [265, 'x1'], [222, '1'], [27, 'n.txt'], [28, '12']]));
  const off = [...s.events()].find((e) => e.type === 'file_offer');
  assert.deepEqual([off.who, off.xfer, off.text, off.size], ['bob', 'x1', 'n.txt', 12]);
  assert.equal(s.fileAccept('x1'), 0);
  assert.deepEqual(sentKeys(s).kv.find(([k]) => k === 222), [222, '3']);
  assert.equal(s.fileCancel('x1'), 0);
  s.free();
});
