// ymsgd's static-file handler (server/http/static.c) over raw HTTP: content types, caching headers,
// ETag revalidation, HEAD, redirects, and refusals (traversal, dot-files, escapes, unknown types,
// methods, oversize files) that leave the server serving everyone else.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, writeFileSync, mkdirSync, symlinkSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Server } from './harness.mjs';

let srv, small;
// The raw bytes of one request and its parsed answer (no client-side path normalisation).
function raw(port, req) {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1');
    const chunks = [];
    c.on('connect', () => c.write(req));
    c.on('data', (d) => chunks.push(d));
    c.on('end', () => {
      const buf = Buffer.concat(chunks);
      const i = buf.indexOf('\r\n\r\n');
      const head = buf.subarray(0, i).toString().split('\r\n');
      const headers = {};
      for (const l of head.slice(1)) { const k = l.indexOf(':'); headers[l.slice(0, k).toLowerCase()] = l.slice(k + 1).trim(); }
      resolve({ status: Number(head[0].split(' ')[1]), headers, body: buf.subarray(i + 4) });
    });
    c.on('error', reject);
    c.setTimeout(5000, () => { c.destroy(); reject(new Error('timeout')); });
  });
}
const get = (p, extra = '', port = srv.httpPort, method = 'GET') =>
  raw(port, `${method} ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${extra}\r\n`);

before(async () => {
  srv = new Server();
  await srv.start();
  // a second server on a web root of our own: a symlink out of the root and a file over the cap
  const root = mkdtempSync(path.join(os.tmpdir(), 'ymsg-webroot-'));
  mkdirSync(path.join(root, 'assets'));
  writeFileSync(path.join(root, 'assets', 'big.txt'), 'x'.repeat(4096));
  writeFileSync(path.join(root, 'assets', 'ok.txt'), 'fine');
  writeFileSync(path.join(root, 'secret.txt'), 'secret');
  symlinkSync(path.join(root, 'secret.txt'), path.join(root, 'assets', 'link.txt'));
  small = new Server(['--web-root', root, '--web-max-file', '1024', '--web-cache-age', '0']);
  await small.start();
});
after(async () => {
  await srv?.stop(); srv?.cleanup();
  await small?.stop(); small?.cleanup();
});

test('pages and assets with their content types and caching headers', async () => {
  const pb = await get('/phonebook/');
  assert.equal(pb.status, 200);
  assert.equal(pb.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(pb.headers['cache-control'], 'no-cache');
  assert.match(pb.headers['content-security-policy'], /default-src 'self'/);
  assert.equal(pb.headers['x-content-type-options'], 'nosniff');
  assert.match(pb.body.toString(), /<title>Phonebook<\/title>/);
  for (const p of ['/', '/index.html', '/messenger/']) {
    const r = await get(p);
    assert.equal(r.status, 200, p);
    assert.match(r.body.toString(), /<title>Messenger<\/title>/, p);
  }
  for (const [p, t] of [['/assets/ymsg.wasm', 'application/wasm'], ['/assets/ymsg.mjs', 'text/javascript; charset=utf-8'],
    ['/assets/app.css', 'text/css; charset=utf-8'], ['/assets/favicon.svg', 'image/svg+xml']]) {
    const r = await get(p);
    assert.equal(r.status, 200, p);
    assert.equal(r.headers['content-type'], t, p);
    assert.equal(r.headers['cache-control'], 'public, max-age=300', p);
    assert.equal(Number(r.headers['content-length']), r.body.length, p);
  }
  const wasm = await get('/assets/ymsg.wasm');
  assert.deepEqual([...wasm.body.subarray(0, 4)], [0, 0x61, 0x73, 0x6d]);
});

test('ETag revalidation answers 304; HEAD sends headers only', async () => {
  const a = await get('/assets/app.css');
  const etag = a.headers.etag;
  assert.match(etag, /^"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+"$/);
  const b = await get('/assets/app.css', `If-None-Match: ${etag}\r\n`);
  assert.equal(b.status, 304);
  assert.equal(b.body.length, 0);
  const h = await get('/assets/app.css', '', srv.httpPort, 'HEAD');
  assert.equal(h.status, 200);
  assert.equal(h.body.length, 0);
  assert.equal(Number(h.headers['content-length']), a.body.length);
});

test('directories without their slash redirect', async () => {
  const r = await get('/phonebook');
  assert.equal(r.status, 301);
  assert.equal(r.headers.location, '/phonebook/');
});

test('traversal, dot-files, escapes, odd characters and unknown types are refused', async () => {
  for (const p of ['/assets/../../etc/passwd', '/assets/..%2f..%2fetc%2fpasswd', '/phonebook/../../../etc/passwd',
    '/assets/.hidden.css', '/assets//app.css', '/assets/app.css%00.html', '/assets/a b.css', '/assets/meson.build',
    '/assets/x.c', '/phonebook/../meson-logs/testlog.txt', '/assets/\u00e9.css']) {
    const r = await get(encodeURI(p) === p ? p : p);
    assert.ok([400, 404].includes(r.status), `${p}: ${r.status}`);
    assert.doesNotMatch(r.body.toString(), /root:|meson/, p);
  }
  // still serving
  assert.equal((await get('/assets/app.css')).status, 200);
});

test('methods other than GET and HEAD get 405', async () => {
  const r = await raw(srv.httpPort, 'POST /phonebook/ HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab');
  assert.equal(r.status, 405);
  assert.equal(r.headers.allow, 'GET, HEAD');
});

test('a web root of its own: size cap, symlinks not followed, cache age 0, missing pages 404', async () => {
  const ok = await get('/assets/ok.txt', '', small.httpPort);
  assert.equal(ok.status, 200);
  assert.equal(ok.body.toString(), 'fine');
  assert.equal(ok.headers['cache-control'], 'no-cache');
  assert.equal((await get('/assets/big.txt', '', small.httpPort)).status, 500);
  assert.match(readFileSync(path.join(small.dir, 'ymsgd.log'), 'utf8'), /static_too_large/);
  assert.equal((await get('/assets/link.txt', '', small.httpPort)).status, 404);
  assert.equal((await get('/', '', small.httpPort)).status, 404);
  assert.equal((await get('/assets/ok.txt', '', small.httpPort)).status, 200);
});
