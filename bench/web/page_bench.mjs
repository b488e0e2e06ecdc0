// Page weight of the web messenger at / (every asset the page loads, uncompressed bytes) and the time
// from pressing Enter on the sign-in form to a filled buddy list, on loopback against a real ymsgd in
// Debian's Chromium.  Bounded: one server, RUNS sign-ins, then it stops.
// Usage: node bench/web/page_bench.mjs BUILD [RUNS]   (needs tests/e2e/web's npm install)
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const build = path.resolve(process.argv[2] || 'build');
const runs = Number(process.argv[3] || 10);
process.env.YMSGD = path.join(build, 'server', 'ymsgd');
const { Server, launchBrowser, newPage } = await import(path.join(here, '..', '..', 'tests', 'e2e', 'web', 'harness.mjs'));

const srv = new Server();
srv.addUser('alice', 'pw-alice');
srv.addUser('bob', 'pw-bob');
await srv.start();
const browser = await launchBrowser();
try {
  // page weight: everything / loads before the sign-in form is ready, and what signing in adds
  const page = await newPage(browser);
  const bytes = new Map();
  page.on('response', async (r) => {
    try { bytes.set(r.url(), (await r.body()).length); } catch { /* redirects and the WebSocket have no body */ }
  });
  await page.goto(`${srv.url}/`);
  await page.waitForSelector('body[data-ready="1"]');
  await page.waitForLoadState('networkidle');
  const show = (m) => [...m].map(([u, n]) => `  ${String(n).padStart(8)}  ${new URL(u).pathname}`).join('\n');
  const total = [...bytes.values()].reduce((a, b) => a + b, 0);
  console.log(`page weight of / (uncompressed, every asset):\n${show(bytes)}\n  ${String(total).padStart(8)}  total (${(total / 1024).toFixed(1)} KiB)`);

  // make alice and bob buddies once (through the pages), so the list has something to fill
  const b = await newPage(browser);
  for (const [p, u] of [[page, 'alice'], [b, 'bob']]) {
    await p.goto(`${srv.url}/`);
    await p.waitForSelector('body[data-ready="1"]');
    await p.fill('#user', u); await p.fill('#pass', `pw-${u}`); await p.press('#pass', 'Enter');
    await p.waitForSelector('#main:not([hidden])');
  }
  const after = [...bytes.values()].reduce((a, x) => a + x, 0);
  console.log(`after signing in (the WebSocket carries the rest): ${after} bytes (${(after / 1024).toFixed(1)} KiB)`);
  await page.fill('#add-id', 'bob'); await page.press('#add-id', 'Enter');
  await b.click('button[aria-label="Accept alice"]');
  await page.waitForSelector('.buddy[data-id="bob"].online');
  await page.close();

  // time from Enter to the filled buddy list, fresh page each time (wasm compiled from cache)
  const times = [];
  for (let i = 0; i < runs; i++) {
    const p = await newPage(browser);
    await p.goto(`${srv.url}/`);
    await p.waitForSelector('body[data-ready="1"]');
    await p.fill('#user', 'alice'); await p.fill('#pass', 'pw-alice');
    const t = await p.evaluate(() => new Promise((resolve) => {
      const t0 = performance.now();
      const mo = new MutationObserver(() => {
        if (document.querySelector('.buddy[data-id="bob"].online')) { mo.disconnect(); resolve(performance.now() - t0); }
      });
      mo.observe(document.body, { subtree: true, childList: true, attributes: true });
      document.querySelector('#pass').dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
      document.querySelector('#signin').requestSubmit();
    }));
    times.push(t);
    await p.close();
  }
  times.sort((x, y) => x - y);
  const q = (f) => times[Math.min(times.length - 1, Math.floor(f * times.length))].toFixed(0);
  console.log(`Enter -> filled buddy list, ${runs} sign-ins: median ${q(0.5)} ms, min ${times[0].toFixed(0)} ms, max ${times.at(-1).toFixed(0)} ms`);
} finally {
  await browser.close();
  await srv.stop();
  srv.cleanup();
}
