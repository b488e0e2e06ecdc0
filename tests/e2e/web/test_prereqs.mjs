// Every browser test FAILS at once, with the reason, when a prerequisite is missing (playwright-core,
// Chromium): none waits for the meson timeout (web_groups used to hang 300 s: its ymsgd, started before
// the browser failed, kept node alive).  Every browser test gets its browser from harness.mjs's
// startBoth(), which checks the prerequisites before it starts anything; this test checks that too.
// No browser is started here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const files = readdirSync(here).filter((f) => /^test_.*\.mjs$/.test(f) && f !== 'test_prereqs.mjs').sort();
// A browser test: one that opens pages.
const browserTests = files.filter((f) => /\bnewPage\(/.test(readFileSync(path.join(here, f), 'utf8')));

test('every browser test gets its browser from startBoth() and nowhere else', () => {
  assert.ok(browserTests.length >= 4, `browser tests found: ${browserTests}`);
  for (const f of browserTests) {
    const src = readFileSync(path.join(here, f), 'utf8');
    assert.match(src, /\bstartBoth\(/, `${f} does not use startBoth()`);
    assert.doesNotMatch(src, /playwright-core|launchBrowser|chromium\.launch/, `${f} starts a browser of its own`);
  }
});

// Runs one browser test file as meson does (node --test) with env/args changed: it must end at once,
// failed, saying why.  The files run side by side (each only starts node).
async function runsAndFails(file, extraArgs, env, reason) {
  const t0 = Date.now();
  const childEnv = { ...process.env, ...env };
  delete childEnv.NODE_TEST_CONTEXT; // set by this runner: a child runner would skip its files
  const child = spawn(process.execPath, [...extraArgs, '--test', '--test-concurrency=1', path.join(here, file)],
    { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const kill = setTimeout(() => child.kill('SIGKILL'), 60000);
  const [status, signal] = await new Promise((r) => child.on('close', (c, s) => r([c, s])));
  clearTimeout(kill);
  assert.equal(signal, null, `${file} did not end within 60 s (killed)`);
  assert.notEqual(status, 0, `${file} passed without its prerequisite:\n${out.slice(-2000)}`);
  assert.match(out, reason, `${file}: the reason is not in the output:\n${out.slice(-2000)}`);
  assert.ok(Date.now() - t0 < 30000, `${file} took ${Date.now() - t0} ms to fail`);
}

test('playwright-core missing: every browser test fails at once', () =>
  Promise.all(browserTests.map((f) =>
    runsAndFails(f, ['--import', path.join(here, 'no_playwright.mjs')], {}, /FAIL: playwright-core is not installed/))));

// The same path (startBoth's first step) for a missing Chromium: one file shows it.
test('Chromium missing: a browser test fails at once', () =>
  runsAndFails(browserTests[0], [], { YMSG_CHROMIUM: '/nonexistent/chromium' }, /FAIL: \/nonexistent\/chromium is missing/));
