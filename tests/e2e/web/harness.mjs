// Shared by the browser tests: the real ymsgd on loopback (free ports, a temporary data directory,
// accounts made with `ymsgd user add`), and Debian's Chromium through playwright-core.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, existsSync, openSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const YMSGD = process.env.YMSGD;
export const SHOTS = process.env.YMSG_SHOTS || path.join(os.tmpdir(), 'ymsg-shots');
export const CHROMIUM = process.env.YMSG_CHROMIUM || '/usr/bin/chromium';
// What this machine needs (no sandbox as root, no background traffic to the closed network).
export const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage', '--autoplay-policy=no-user-gesture-required'];

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function canConnect(port) {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.on('connect', () => { c.destroy(); resolve(true); });
    c.on('error', () => resolve(false));
  });
}

export class Server {
  constructor(extra = []) {
    if (!YMSGD || !existsSync(YMSGD)) throw new Error(`FAIL: ymsgd not found (YMSGD=${YMSGD})`);
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'ymsgd-web-'));
    this.extra = extra;
    this.proc = null;
  }
  baseArgs() {
    return ['--data-dir', path.join(this.dir, 'data'), '--pwhash-opslimit', '1', '--pwhash-memlimit', '8192', ...this.extra];
  }
  addUser(name, password) {
    const r = spawnSync(YMSGD, [...this.baseArgs(), 'user', 'add', name], { input: password + '\n' });
    if (r.status !== 0) throw new Error(`user add ${name}: ${r.stderr}`);
  }
  async start() {
    for (let attempt = 0; attempt < 5; attempt++) {
      this.ymsgPort ??= await freePort();
      this.httpPort ??= await freePort();
      const log = openSync(path.join(this.dir, 'ymsgd.log'), 'a');
      this.proc = spawn(YMSGD, [...this.baseArgs(), '--ymsg-listen', `127.0.0.1:${this.ymsgPort}`,
        '--http-listen', `127.0.0.1:${this.httpPort}`, '--log-level', 'debug'], { stdio: ['ignore', 'ignore', log] });
      const exited = new Promise((r) => this.proc.once('exit', r));
      const deadline = Date.now() + 10000;
      while (Date.now() < deadline) {
        if (this.proc.exitCode !== null) break;
        if (await canConnect(this.ymsgPort) && await canConnect(this.httpPort)) return this;
        await sleep(50);
      }
      this.proc.kill('SIGKILL');
      await exited;
      this.ymsgPort = this.httpPort = undefined; // port taken meanwhile: try others
    }
    throw new Error(`ymsgd did not start; log:\n${this.log()}`);
  }
  get url() { return `http://127.0.0.1:${this.httpPort}`; }
  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 10000);
    await exited;
    clearTimeout(t);
  }
  log() { try { return readFileSync(path.join(this.dir, 'ymsgd.log'), 'utf8').slice(-6000); } catch { return ''; } }
  cleanup() { rmSync(this.dir, { recursive: true, force: true }); }
}

// Debian's Chromium; a missing browser is a failure, never a skip.
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`FAIL: ${CHROMIUM} is missing (scripts/deps.sh test installs chromium)`);
  let pw;
  try {
    pw = await import('playwright-core');
  } catch (e) {
    throw new Error(`FAIL: playwright-core is not installed in tests/e2e/web (scripts/deps.sh test runs npm ci): ${e.message}`);
  }
  // playwright starts it with a new empty profile directory of its own
  return pw.chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
    .catch((e) => { throw new Error(`FAIL: cannot start ${CHROMIUM}: ${e.message}`); });
}

// The browser tests' fixture (every browser test gets its browser here): a started ymsgd with users
// (password "pw-<name>") and Chromium.  The browser first: a missing prerequisite fails at once with
// nothing started (a ymsgd left running would keep node alive until the meson timeout), and whatever
// fails later stops what was started.
export async function startBoth(users, extra = []) {
  const browser = await launchBrowser();
  let srv;
  try {
    srv = new Server(extra);
    for (const u of users) srv.addUser(u, `pw-${u}`);
    await srv.start();
  } catch (e) {
    await browser.close();
    await srv?.stop();
    srv?.cleanup();
    throw e;
  }
  return { srv, browser };
}
export async function stopBoth(srv, browser) {
  await browser?.close();
  await srv?.stop();
  srv?.cleanup();
}

export async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

// A page that fails the test on any console error or uncaught exception.
export async function newPage(browser, opts = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 760 }, ...opts });
  const page = await ctx.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push(`console: ${m.text()}`); });
  return page;
}
