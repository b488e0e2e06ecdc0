'use strict';
/* Peer for bench_gateway.py: npm libamf 1.4.2's remoting Server (express) with an equivalent in-memory
 * Phonebook service (no login, no storage on disk), bound to 127.0.0.1.
 * usage: node libamf_server.js PORT   (prints "ready" once listening) */
const path = require('path');
const Module = require('module');

const nm = path.join(__dirname, '..', '..', 'tests', 'e2e', 'gateway', 'npm', 'node_modules');
/* bytearray-node loads the native lzma-native for ByteArray compression only (see peer_test.js). */
const lzmaPath = require.resolve('lzma-native', { paths: [path.join(nm, 'bytearray-node')] });
require.cache[lzmaPath] = new Module(lzmaPath);
require.cache[lzmaPath].filename = lzmaPath;
require.cache[lzmaPath].loaded = true;
require.cache[lzmaPath].exports = { LZMA: function () { throw new Error('lzma is not available'); } };

const libamf = require(path.join(nm, 'libamf'));
/* its net/Helper.js refers to a global Packet it never defines (any array result throws): provide it */
global.Packet = require(path.join(nm, 'libamf/src/net/Packet'));

class PhoneEntry {
  constructor(name, phone, email) { this.name = name; this.phone = phone; this.email = email; }
}
libamf.registerClassAlias('PhoneEntry', PhoneEntry);
libamf.Service.ForceSuffix = false;
/* its registration path reads an undefined variable (AMF.md §6): dispatch by method name instead */
libamf.Service.RequireRegistration = false;
libamf.Server.DisableDefaultHome = true;

let book = [];
for (let i = 0; i < 10; i++) {
  const n = String(i).padStart(2, '0');
  book.push(new PhoneEntry('Person ' + n, '+1 555 01' + n, 'person' + n + '@example.com'));
}

class Phonebook extends libamf.Service {
  constructor() {
    super('Phonebook');
  }

  sync(...args) {
    const list = args.length > 1 ? args[0] : null; // the last argument is libamf's message
    if (Array.isArray(list) && list.length) book = list;
    return book;
  }
}

const server = new libamf.Server({ path: '/api.php' });
server.registerService(new Phonebook());
const port = Number(process.argv[2]);
server.app.listen(port, '127.0.0.1', () => console.log('ready'));
