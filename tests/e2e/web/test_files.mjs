// File transfer in the web messenger (issue 14), Debian's Chromium against the real ymsgd and its relay:
// a browser user sends a file to another (the <input type=file>; the receiver's Accept, progress both
// ways, the file saved through the Save link, SHA-256 equal), a file dropped on a conversation and
// declined, files both ways with the `ymsg` terminal client (listen --accept-files / send-file), a
// decline the terminal sender hears, the server's refusal of a file over --relay-max-file shown on the
// page, and a server without a relay (no File button; ymsgd refuses offers to the page's user itself).  The CORS side
// (other origins get nothing) is web_relay_cors.  Two nodes (issue 12): each page fetches a file the other node
// holds through its own node's relay.  Screenshots: <build>/tests/e2e/web/screenshots/files-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Server, startBoth, stopBoth, newPage, shot, freePort } from './harness.mjs';

const MAX = 300000; // --relay-max-file
let srv, browser;
before(async () => ({ srv, browser } = await startBoth(['alice', 'bob', 'carol'],
  ['--relay-listen', `127.0.0.1:${await freePort()}`, '--relay-max-file', String(MAX)])));
after(() => stopBoth(srv, browser));

const sha = (b) => createHash('sha256').update(b).digest('hex');

async function signedIn(user, base = srv.url, opts = {}) {
  const page = await newPage(browser, opts);
  await page.goto(`${base}/`);
  await page.waitForSelector('body[data-ready="1"]');
  await page.fill('#user', user);
  await page.fill('#pass', `pw-${user}`);
  await page.press('#pass', 'Enter');
  await page.waitForSelector('#main:not([hidden])');
  return page;
}

// Opens the conversation with who: added to the buddy list (pending is enough), then clicked there.
async function chatWith(page, who) {
  if (!(await page.$(`.buddy[data-id="${who}"]`))) {
    await page.fill('#add-id', who);
    await page.press('#add-id', 'Enter');
    await page.waitForSelector(`.buddy[data-id="${who}"]`);
  }
  await page.click(`.buddy[data-id="${who}"]`);
  await page.waitForSelector(`.tab[data-id="${who}"][aria-selected="true"]`);
}

const item = (page, name) => page.locator('li.msg.xfer', { hasText: name }).last();
async function waitItem(page, name, re) {
  await page.waitForFunction(([n, src]) => [...document.querySelectorAll('li.msg.xfer')]
    .some((e) => e.textContent.includes(n) && new RegExp(src).test(e.querySelector('.text').textContent)), [name, re.source],
  { timeout: 20000 });
}
const barOf = (page, name) => item(page, name).locator('progress').evaluate((p) => [Number(p.value), Number(p.max)]);

// The received file as the browser saves it from the Save link.
async function saved(page, name) {
  const [dl] = await Promise.all([page.waitForEvent('download'), item(page, name).getByRole('link', { name: `Save ${name}` }).click()]);
  assert.equal(dl.suggestedFilename(), name);
  return readFileSync(await dl.path());
}

function ymsg(user, args, timeoutMs = 60000, on = srv) {
  const env = { ...process.env, YMSG_USER: user, YMSG_PASSWORD: `pw-${user}` };
  return { env, args: ['--no-config', '--server', `127.0.0.1:${on.ymsgPort}`, '--login-url', on.url, '--json', ...args], timeoutMs };
}
function run(user, args, on = srv) {
  const { env, args: a, timeoutMs } = ymsg(user, args, 60000, on);
  return new Promise((resolve) => execFile(process.env.YMSG_CLIENT, a, { env, timeout: timeoutMs },
    (e, so, se) => resolve({ code: e ? e.code : 0, out: `${so}\n${se}` })));
}

test('browser to browser: input, accept, progress both ways, saved intact; a dropped file declined', async () => {
  const a = await signedIn('alice'), b = await signedIn('bob');
  await chatWith(a, 'bob');
  const data = randomBytes(250000);
  await a.locator('input[type=file][aria-label="File to send to bob"]').setInputFiles({ name: 'photo.bin', mimeType: 'image/jpeg', buffer: data });
  await waitItem(a, 'photo.bin', /Waiting for bob to accept/);
  await waitItem(b, 'photo.bin', /^alice wants to send you “photo\.bin” \(244 KB\)\.$/);
  await b.click('.tab[data-id="alice"]');
  await shot(b, 'files-1-offer');
  await item(b, 'photo.bin').getByRole('button', { name: 'Accept photo.bin' }).click();
  await waitItem(a, 'photo.bin', /^Sent “photo\.bin” \(244 KB\) to bob\.$/);
  await waitItem(b, 'photo.bin', /^Received “photo\.bin” \(244 KB\) from alice\.$/);
  assert.deepEqual(await barOf(a, 'photo.bin'), [data.length, data.length]);
  assert.deepEqual(await barOf(b, 'photo.bin'), [data.length, data.length]);
  await shot(b, 'files-2-received');
  assert.equal(sha(await saved(b, 'photo.bin')), sha(data));

  // a file dropped on the conversation is offered; bob declines, alice reads it
  await a.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['dropped text'], 'drop.txt', { type: 'text/plain' }));
    const p = document.querySelector('.panel:not([hidden])');
    p.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    p.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await waitItem(b, 'drop.txt', /alice wants to send you “drop\.txt” \(12 bytes\)/);
  await item(b, 'drop.txt').getByRole('button', { name: 'Decline drop.txt' }).click();
  await waitItem(b, 'drop.txt', /^You declined “drop\.txt”\.$/);
  await waitItem(a, 'drop.txt', /^bob declined “drop\.txt”\.$/);
  await shot(a, 'files-3-declined');

  // alice withdraws an offer before bob answers: bob's Accept/Decline give way to the reason
  await a.locator('input[type=file][aria-label="File to send to bob"]').setInputFiles({ name: 'later.txt', mimeType: 'text/plain', buffer: Buffer.from('later') });
  await waitItem(b, 'later.txt', /alice wants to send you “later\.txt”/);
  await item(a, 'later.txt').getByRole('button', { name: 'Cancel sending later.txt' }).click();
  await waitItem(a, 'later.txt', /^You cancelled “later\.txt”\.$/);
  await waitItem(b, 'later.txt', /^“later\.txt” was not received: /);
  assert.equal(await item(b, 'later.txt').getByRole('button').count(), 0);
  for (const p of [a, b]) { assert.deepEqual(p.errors, []); await p.close(); }
});

test('with the terminal client: browser to ymsg, ymsg to browser, a decline the ymsg sender hears', async () => {
  const a = await signedIn('alice');
  // carol listens in the terminal client and takes every file into dir
  const dir = path.join(srv.dir, 'carol-dl');
  mkdirSync(dir);
  const { env, args } = ymsg('carol', ['listen', '--accept-files', '--download-dir', dir, '--timeout', '60']);
  const listener = spawn(process.env.YMSG_CLIENT, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let lout = '';
  const gotDone = new Promise((resolve) => listener.stdout.on('data', (d) => {
    lout += d;
    if (/"event":"file_done"/.test(lout)) resolve();
  }));
  listener.stderr.on('data', (d) => { lout += d; });
  try {
    await new Promise((r) => setTimeout(r, 1500)); // carol is signed in
    await chatWith(a, 'carol');
    const data = randomBytes(120000);
    await a.locator('input[type=file][aria-label="File to send to carol"]').setInputFiles({ name: 'report.pdf', mimeType: 'application/pdf', buffer: data });
    await waitItem(a, 'report.pdf', /^Sent “report\.pdf” \(117 KB\) to carol\.$/);
    await Promise.race([gotDone, new Promise((_, rej) => setTimeout(() => rej(new Error(`no file_done from ymsg listen:\n${lout}`)), 20000))]);
    assert.match(lout, /"event":"file_done"[^\n]*"ok":true,"code":0/, lout);
    assert.deepEqual(readdirSync(dir), ['report.pdf']);
    assert.equal(sha(readFileSync(path.join(dir, 'report.pdf'))), sha(data));
  } finally { listener.kill(); }

  // carol sends with `ymsg send-file`: alice accepts and saves it; send-file exits 0
  const file = path.join(srv.dir, 'notes.txt');
  const text = Buffer.from('é'.repeat(40000));
  writeFileSync(file, text);
  const sending = run('carol', ['--timeout', '40', 'send-file', '--to', 'alice', file]);
  await waitItem(a, 'notes.txt', /^carol wants to send you “notes\.txt” \(78 KB\)\.$/);
  await a.click('.tab[data-id="carol"]');
  await item(a, 'notes.txt').getByRole('button', { name: 'Accept notes.txt' }).click();
  await waitItem(a, 'notes.txt', /^Received “notes\.txt” \(78 KB\) from carol\.$/);
  const { code, out } = await sending;
  assert.equal(code, 0, out);
  assert.equal(sha(await saved(a, 'notes.txt')), sha(text));
  await shot(a, 'files-4-from-terminal');

  // and a decline: send-file fails with file_declined at once
  const t0 = Date.now();
  const again = run('carol', ['--timeout', '40', 'send-file', '--to', 'alice', file]);
  await waitItem(a, 'notes.txt', /^carol wants to send you “notes\.txt”/);
  await item(a, 'notes.txt').getByRole('button', { name: 'Decline notes.txt' }).click();
  const r = await again;
  assert.notEqual(r.code, 0, r.out);
  assert.match(r.out, /file_declined/, r.out);
  assert.ok(Date.now() - t0 < 30000, 'the decline came at once, not at the timeout');
  assert.deepEqual(a.errors, []);
  await a.close();
});

test('the server refuses a file over --relay-max-file: the sender reads why', async () => {
  const a = await signedIn('alice'), b = await signedIn('bob');
  await chatWith(a, 'bob');
  await a.locator('input[type=file][aria-label="File to send to bob"]').setInputFiles({ name: 'big.iso', mimeType: '', buffer: Buffer.alloc(MAX + 1) });
  await waitItem(a, 'big.iso', /^“big\.iso” was not sent: .*too large/i);
  await shot(a, 'files-5-too-large');
  assert.equal(await b.locator('li.msg.xfer').count(), 0, 'the refused offer reached bob');
  for (const p of [a, b]) { assert.deepEqual(p.errors, []); await p.close(); }
});

test('a server without a relay: no File button, and ymsgd refuses the terminal sender’s offer itself', async () => {
  const bare = new Server();
  for (const u of ['dave', 'erin']) bare.addUser(u, `pw-${u}`);
  await bare.start();
  try {
    const page = await newPage(browser);
    await page.goto(`${bare.url}/`);
    await page.waitForSelector('body[data-ready="1"]');
    const csp = (await page.request.head(`${bare.url}/`)).headers()['content-security-policy'];
    assert.match(csp, /connect-src 'self';/);
    await page.fill('#user', 'dave');
    await page.fill('#pass', 'pw-dave');
    await page.press('#pass', 'Enter');
    await page.waitForSelector('#main:not([hidden])');
    await page.fill('#add-id', 'erin');
    await page.press('#add-id', 'Enter');
    await page.click('.buddy[data-id="erin"]');
    await page.waitForSelector('.tab[data-id="erin"][aria-selected="true"]');
    await page.waitForFunction(() => document.querySelector('button[aria-label="Send a file to erin"]').hidden);
    const file = path.join(bare.dir, 'x.txt');
    writeFileSync(file, 'x');
    const env = { ...process.env, YMSG_USER: 'erin', YMSG_PASSWORD: 'pw-erin' };
    const r = await new Promise((resolve) => execFile(process.env.YMSG_CLIENT, ['--no-config', '--server', `127.0.0.1:${bare.ymsgPort}`,
      '--login-url', bare.url, '--json', '--timeout', '20', 'send-file', '--to', 'dave', file], { env, timeout: 40000 },
    (e, so, se) => resolve({ code: e ? e.code : 0, out: `${so}\n${se}` })));
    assert.notEqual(r.code, 0, r.out);
    assert.match(r.out, /not available on this server/, r.out);
    assert.equal(await page.locator('li.msg.xfer').count(), 0);
    assert.deepEqual(page.errors, []);
    await page.close();
  } finally { await bare.stop(); bare.cleanup(); }
});

// A server with an https web listener (a certificate for 127.0.0.1 made here; the browser context
// ignores that it is self-signed) and a relay: plain only, or plain and TLS.
async function httpsServer(tlsRelay) {
  const s = new Server();
  const key = path.join(s.dir, 'k.pem'), crt = path.join(s.dir, 'c.pem');
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', crt, '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore', timeout: 60000 });
  } catch (e) { throw new Error(`FAIL: openssl (Debian package openssl) could not make the test certificate: ${e.message}`); }
  s.httpsPort = await freePort();
  s.tlsRelayPort = tlsRelay ? await freePort() : 0;
  s.extra = ['--tls-cert', crt, '--tls-key', key, '--https-listen', `127.0.0.1:${s.httpsPort}`,
    '--relay-listen', `127.0.0.1:${await freePort()}`, ...(tlsRelay ? ['--relay-tls-listen', `127.0.0.1:${s.tlsRelayPort}`] : [])];
  for (const u of ['alice', 'bob', 'carol']) s.addUser(u, `pw-${u}`);
  await s.start();
  s.httpsUrl = `https://127.0.0.1:${s.httpsPort}`;
  return s;
}

test('a page over https sends and receives through the https relay (relay_tls_listen)', async () => {
  const t0 = Date.now();
  const hs = await httpsServer(true);
  try {
    const opts = { ignoreHTTPSErrors: true };
    const a = await signedIn('alice', hs.httpsUrl, opts), b = await signedIn('bob', hs.httpsUrl, opts);
    const relayReqs = [];
    for (const p of [a, b]) p.on('request', (r) => { if (r.url().includes('/relay?')) relayReqs.push(r.url()); });
    await chatWith(a, 'bob');
    await a.waitForFunction(() => !document.querySelector('button[aria-label="Send a file to bob"]').hidden);
    const data = randomBytes(200000);
    await a.locator('input[type=file][aria-label="File to send to bob"]').setInputFiles({ name: 'secure.bin', mimeType: 'application/octet-stream', buffer: data });
    await waitItem(b, 'secure.bin', /^alice wants to send you “secure\.bin”/);
    await b.click('.tab[data-id="alice"]');
    await item(b, 'secure.bin').getByRole('button', { name: 'Accept secure.bin' }).click();
    await waitItem(a, 'secure.bin', /^Sent “secure\.bin” \(195 KB\) to bob\.$/);
    await waitItem(b, 'secure.bin', /^Received “secure\.bin” \(195 KB\) from alice\.$/);
    assert.equal(sha(await saved(b, 'secure.bin')), sha(data));
    await shot(b, 'files-6-https-relay');
    // every byte went over the TLS relay; none over plain http (mixed content)
    assert.ok(relayReqs.length >= 2, relayReqs.join('\n'));
    for (const u of relayReqs) assert.ok(u.startsWith(`https://127.0.0.1:${hs.tlsRelayPort}/relay?`), u);
    for (const p of [a, b]) { assert.deepEqual(p.errors, []); await p.close(); }
  } finally { await hs.stop(); hs.cleanup(); }
  console.log(`# https relay case: ${Date.now() - t0} ms`);
});

test('a page over https with only a plain relay: no mixed content, an offer is declined at once with the reason', async () => {
  const t0 = Date.now();
  const hs = await httpsServer(false);
  try {
    const a = await signedIn('alice', hs.httpsUrl, { ignoreHTTPSErrors: true });
    await chatWith(a, 'carol');
    await a.waitForFunction(() => document.querySelector('button[aria-label="Send a file to carol"]').hidden);
    const file = path.join(hs.dir, 'plain.txt');
    writeFileSync(file, 'plain');
    const r = await run('carol', ['--timeout', '30', 'send-file', '--to', 'alice', file], hs);
    assert.notEqual(r.code, 0, r.out);
    assert.match(r.out, /file_declined/, r.out);
    await a.waitForFunction(() => [...document.querySelectorAll('.log .msg')].some((e) =>
      /carol offered you the file “plain\.txt” \(5 bytes\)\. This page is served over https and the server's file relay only over plain http .*mixed content.*, so it was declined\./.test(e.textContent)));
    await shot(a, 'files-7-https-plain-relay');
    assert.deepEqual(a.errors, []);
    await a.close();
  } finally { await hs.stop(); hs.cleanup(); }
  console.log(`# https page, plain relay case: ${Date.now() - t0} ms`);
});

// Issue 12: two nodes (tests/e2e/web/cluster_fixture.py: the python ClusterServer).  Each page reaches
// only its own node's relay (its CSP names no other); a file lives on the sender's node, so each
// download goes to the page's own relay, which fetches it from the holder's (docs/FILE_TRANSFER.md §4).
async function startCluster(users, extra) {
  const fixture = new URL('./cluster_fixture.py', import.meta.url).pathname;
  const proc = spawn('python3', [fixture, process.env.YMSGD, '2', users.join(','), ...extra], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '', err = '';
  proc.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((r) => proc.once('exit', r));
  const info = await new Promise((resolve, reject) => {
    proc.stdout.on('data', (d) => { out += d; if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0])); });
    exited.then((code) => reject(new Error(`FAIL: the cluster did not start (exit ${code}):\n${err.slice(-4000)}`)));
  });
  const stop = async () => { proc.stdin.end(); await exited; };
  return { nodes: info.nodes.map((n) => ({ ...n, url: `http://127.0.0.1:${n.http}` })), stop, log: () => err };
}

test('two nodes: each page downloads a file held by the other node’s relay through its own (both directions)', async () => {
  const t0 = Date.now();
  const cl = await startCluster(['alice', 'bob'], ['--relay-listen', '127.0.0.1:0']);
  console.log(`# two nodes up (PostgreSQL, Redis, ymsgd x2): ${Date.now() - t0} ms`);
  try {
    const [n0, n1] = cl.nodes;
    const a = await signedIn('alice', n0.url), b = await signedIn('bob', n1.url);
    const own = new Map(), reqs = new Map();
    for (const [p, n] of [[a, n0], [b, n1]]) {
      const csp = (await p.request.head(`${n.url}/`)).headers()['content-security-policy'];
      const relays = csp.match(/http:\/\/127\.0\.0\.1:\d+/g) || [];
      assert.equal(relays.length, 1, csp); // its own node's relay only
      own.set(p, relays[0]);
      reqs.set(p, []);
      p.on('request', (r) => { if (r.url().includes('/relay?')) reqs.get(p).push(r.url()); });
    }
    assert.notEqual(own.get(a), own.get(b));
    await chatWith(a, 'bob');
    await chatWith(b, 'alice');
    const send = async (from, to, fromId, toId, name, data) => {
      await from.locator(`input[type=file][aria-label="File to send to ${toId}"]`).setInputFiles({ name, mimeType: 'application/octet-stream', buffer: data });
      await waitItem(to, name, new RegExp(`^${fromId} wants to send you “${name.replace('.', '\\.')}”`));
      await item(to, name).getByRole('button', { name: `Accept ${name}` }).click();
      await waitItem(to, name, new RegExp(`^Received “${name.replace('.', '\\.')}”`));
      await waitItem(from, name, new RegExp(`^Sent “${name.replace('.', '\\.')}”`));
      assert.equal(sha(await saved(to, name)), sha(data));
    };
    await send(a, b, 'alice', 'bob', 'a2b.bin', randomBytes(180000));  // held on node0, fetched via node1
    await send(b, a, 'bob', 'alice', 'b2a.bin', randomBytes(90000));   // held on node1, fetched via node0
    await shot(a, 'files-8-cluster');
    for (const p of [a, b]) {
      assert.ok(reqs.get(p).length >= 2, reqs.get(p).join('\n'));  // an upload and a download each
      for (const u of reqs.get(p)) assert.ok(u.startsWith(`${own.get(p)}/relay?`), `${u} is not at ${own.get(p)}`);
      assert.deepEqual(p.errors, []);
      await p.close();
    }
  } catch (e) { e.message += `\n${cl.log().slice(-4000)}`; throw e; } finally { await cl.stop(); }
  console.log(`# two-node case: ${Date.now() - t0} ms`);
});
