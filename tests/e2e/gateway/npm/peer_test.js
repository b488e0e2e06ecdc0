'use strict';
/* A third-party remoting client drives ymsgd's AMF gateway: npm `libamf` 1.4.2 (installed from the npm
 * registry with an `overrides` entry replacing its GitHub-only dependency by bytearray-node 3.3.5).
 * Its Client sends classic NetConnection calls ("Service.method", AMF3 arguments behind 0x11 in a
 * version-3 envelope, calls of one tick batched in one request); its Packet/Message writer with
 * registered class aliases builds Flex RemotingMessage requests.  Every request byte is written by
 * libamf, and every reply is read back with libamf's reader.
 *
 * usage: node peer_test.js URL USER PASSWORD     (exit status 0 = all checks passed) */
const path = require('path');
const Module = require('module');

const nm = path.join(__dirname, 'node_modules');
/* bytearray-node loads the native lzma-native for ByteArray.compress('lzma') only; AMF never uses it
 * and CI installs with --ignore-scripts (no native build), so a stub stands in for it. */
const lzmaPath = require.resolve('lzma-native', { paths: [path.join(nm, 'bytearray-node')] });
require.cache[lzmaPath] = new Module(lzmaPath);
require.cache[lzmaPath].filename = lzmaPath;
require.cache[lzmaPath].loaded = true;
require.cache[lzmaPath].exports = { LZMA: function () { throw new Error('lzma is not available in this test'); } };

const libamf = require(path.join(nm, 'libamf'));
const Packet = require(path.join(nm, 'libamf/src/net/Packet'));
const Message = require(path.join(nm, 'libamf/src/net/Message'));
const http = require('http');

const [url, user, password] = process.argv.slice(2);
let failed = 0;
function check(cond, what) {
  if (!cond) {
    failed++;
    console.log('FAIL: ' + what);
  }
  return cond;
}
const show = (v) => { try { return JSON.stringify(v); } catch (e) { return String(v); } };

class PhoneEntry {
  constructor(name, phone) { this.name = name; this.phone = phone; }
}
libamf.registerClassAlias('PhoneEntry', PhoneEntry);

class RemotingMessage {
  constructor(operation, body, messageId) {
    this.operation = operation;
    this.source = null;
    this.destination = 'api';
    this.timeToLive = 0;
    this.headers = { DSEndpoint: 'api', DSId: 'nil' };
    this.timestamp = 0;
    this.messageId = messageId;
    this.body = body;
    this.clientId = null;
  }
}
libamf.registerClassAlias('flex.messaging.messages.RemotingMessage', RemotingMessage);

function post(body) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request({ hostname: u.hostname, port: u.port, path: u.pathname, method: 'POST',
      headers: { 'Content-Type': 'application/x-amf', 'Content-Length': body.length } }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function classic() {
  const client = new libamf.Client();
  client.connect(url);
  const book = [new PhoneEntry('Ann', '+1 555 0100'), new PhoneEntry('Bo', '+44 20 7946 0000')];
  // one tick: libamf batches the three calls into one envelope (/1, /2, /3)
  const [login, stored, again] = await Promise.all([
    client.call('Phonebook.login', user, password),
    client.call('Phonebook.sync', book),
    client.call('Phonebook.sync'),
  ]);
  check(login === true, 'classic login -> ' + show(login));
  check(Array.isArray(stored) && stored.length === 2 && stored[0] instanceof PhoneEntry &&
        stored[1].name === 'Bo' && stored[1].phone === '+44 20 7946 0000', 'classic sync(list) -> ' + show(stored));
  check(Array.isArray(again) && again.length === 2 && again[0] instanceof PhoneEntry && again[0].name === 'Ann',
        'classic sync() -> ' + show(again));
  // a fresh client has no session (libamf keeps no cookies): a fault object, readable by libamf
  const anon = new libamf.Client();
  anon.connect(url);
  const fault = await anon.call('Phonebook.sync');
  check(fault && fault.faultCode === 'Client.Authentication' && /not logged in/.test(fault.faultString),
        'classic sync without login -> ' + show(fault));
  const bad = await anon.call('Phonebook.login', user);
  check(bad && bad.faultCode === 'Client.Argument' && /takes 2 arguments, got 1/.test(bad.description),
        'classic arity fault -> ' + show(bad));
}

async function flex() {
  const p = new Packet();
  p.version = 3;
  p.messages.push(new Message({ targetURI: 'null', responseURI: '/1',
    content: [new RemotingMessage('Phonebook.login', [user, password], 'A1B2C3D4-0000-4000-8000-000000000001')] }));
  p.messages.push(new Message({ targetURI: 'null', responseURI: '/2',
    content: [new RemotingMessage('Phonebook.sync', [], 'A1B2C3D4-0000-4000-8000-000000000002')] }));
  p.messages.push(new Message({ targetURI: 'null', responseURI: '/3',
    content: [new RemotingMessage('Phonebook.nope', [], 'A1B2C3D4-0000-4000-8000-000000000003')] }));
  const res = await post(p.write());
  check(res.status === 200 && res.headers['content-type'] === 'application/x-amf', 'Flex reply status ' + res.status);
  check(/^YMSGAMF=[0-9a-f]{32}; HttpOnly; Path=\//.test(String(res.headers['set-cookie'])),
        'Flex login sets the cookie: ' + res.headers['set-cookie']);
  const reply = await new Packet().read(res.body);
  check(reply.version === 3 && reply.messages.length === 3, 'Flex reply has 3 bodies');
  const [m1, m2, m3] = reply.messages;
  check(m1.targetURI === '/1/onResult' && m1.content.body === true &&
        m1.content.correlationId === 'A1B2C3D4-0000-4000-8000-000000000001', 'Flex login ack ' + show(m1.content));
  check(m2.targetURI === '/2/onResult' && Array.isArray(m2.content.body) && m2.content.body.length === 2 &&
        m2.content.body[0] instanceof PhoneEntry && m2.content.body[1].name === 'Bo', 'Flex sync ack ' + show(m2.content));
  check(m3.targetURI === '/3/onStatus' && m3.content.faultCode === 'Server.ResourceUnavailable' &&
        /Phonebook\.nope/.test(m3.content.faultString), 'Flex unknown method -> ErrorMessage ' + show(m3.content));
}

(async () => {
  const timer = setTimeout(() => { console.log('FAIL: timed out'); process.exit(1); }, 60000);
  try {
    await classic();
    await flex();
  } catch (e) {
    check(false, 'exception: ' + (e && e.stack || e));
  }
  clearTimeout(timer);
  console.log(failed ? failed + ' check(s) failed' : 'libamf peer: all checks passed');
  process.exit(failed ? 1 : 0);
})();
