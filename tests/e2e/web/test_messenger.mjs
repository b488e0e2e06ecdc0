// The web messenger in Debian's Chromium against the real ymsgd: sign-in errors, two browser users
// who add and authorise each other, chat UTF-8 both ways, typing, buzz, invisible and back, unread
// counts in the title, a phone-sized viewport, a server restart the page reconnects from, desktop
// notifications (opt-in, only while the window is in the background), buzz under reduced motion, and
// a declined authorisation request seen by the requester.
// Screenshots of each screen go to <build>/tests/e2e/web/screenshots/messenger-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBoth, stopBoth, newPage, shot } from './harness.mjs';

let srv, browser;
before(async () => ({ srv, browser } = await startBoth(['alice', 'bob'])));
after(() => stopBoth(srv, browser));

async function signIn(page, user, pass, path = '/') {
  await page.goto(`${srv.url}${path}`);
  await page.waitForSelector('body[data-ready="1"]');
  await page.fill('#user', user);
  await page.fill('#pass', pass);
  await page.press('#pass', 'Enter');
}

const buddyState = (page, id) => page.getAttribute(`.buddy[data-id="${id}"]`, 'class');
async function waitBuddy(page, id, state) {
  await page.waitForFunction(([i, s]) => document.querySelector(`.buddy[data-id="${i}"]`)?.classList.contains(s),
    [id, state], { timeout: 15000 });
}
const lastMsg = (page, id) => page.$$eval(`.log[aria-label="Conversation with ${id}"] .msg .text`,
  (els) => els.map((e) => e.textContent).pop());

test('a wrong password shows the right message', async () => {
  const page = await newPage(browser);
  await signIn(page, 'alice', 'nope');
  await page.waitForFunction(() => document.querySelector('#signin-error').textContent !== '');
  assert.equal(await page.textContent('#signin-error'), 'Wrong ID or password.');
  assert.equal(await page.isVisible('#main'), false);
  await shot(page, 'messenger-1-wrong-password');
  assert.deepEqual(page.errors, []);
});

test('two users: add, authorise, chat, typing, buzz, invisible, reconnect after a restart', async () => {
  const a = await newPage(browser), b = await newPage(browser);
  await signIn(a, 'alice', 'pw-alice');
  await a.waitForSelector('#main:not([hidden])');
  await signIn(b, 'bob', 'pw-bob', '/messenger/');
  await b.waitForSelector('#main:not([hidden])');
  await shot(a, 'messenger-2-empty-list');

  // alice adds bob; bob accepts; bob adds alice back; alice accepts
  await a.fill('#add-id', 'bob');
  await a.fill('#add-msg', 'hi, it is alice');
  await a.press('#add-msg', 'Enter');
  await b.waitForSelector('button[aria-label="Accept alice"]');
  assert.match(await b.textContent('#requests'), /hi, it is alice/);
  await shot(b, 'messenger-3-auth-request');
  await b.click('button[aria-label="Accept alice"]');
  await waitBuddy(a, 'bob', 'online');
  await b.fill('#add-id', 'alice');
  await b.press('#add-id', 'Enter');
  await a.click('button[aria-label="Accept bob"]');
  await waitBuddy(b, 'alice', 'online');

  // chat both ways, UTF-8 with emoji
  await a.click('.buddy[data-id="bob"]');
  await a.type('textarea[aria-label="Message to bob"]', 'héllo bob 👋');
  await b.waitForFunction(() => /alice is typing/.test(document.querySelector('.typing')?.textContent || ''));
  await a.press('textarea[aria-label="Message to bob"]', 'Enter');
  await b.waitForFunction(() => document.querySelector('.log .msg.theirs .text')?.textContent === 'héllo bob 👋');
  // the new conversation opened in the background: unread count on the tab, the buddy and the title
  assert.equal(await b.title(), '(1) Messenger');
  assert.equal(await b.textContent('.tab[data-id="alice"] .badge'), '1');
  assert.equal(await b.textContent('.buddy[data-id="alice"] .badge'), '1');
  await shot(b, 'messenger-3b-unread');
  await b.click('.tab[data-id="alice"]');
  assert.equal(await b.title(), 'Messenger');
  await b.fill('textarea[aria-label="Message to alice"]', 'ça va? 😀 ✓ 中文');
  await b.press('textarea[aria-label="Message to alice"]', 'Enter');
  await a.waitForFunction(() => [...document.querySelectorAll('.log .msg.theirs .text')].some((e) => e.textContent === 'ça va? 😀 ✓ 中文'));
  assert.equal(await lastMsg(a, 'bob'), 'ça va? 😀 ✓ 中文');
  assert.match(await a.textContent('.log .msg time'), /\d/);
  await shot(a, 'messenger-4-chat');

  // unread count in the title when the chat is not in view
  await a.evaluate(() => document.querySelector('.tab[data-id="bob"] .tab-close').click());
  await b.fill('textarea[aria-label="Message to alice"]', 'are you there?');
  await b.press('textarea[aria-label="Message to alice"]', 'Enter');
  await a.waitForFunction(() => document.title === '(1) Messenger');
  await a.click('.buddy[data-id="bob"]');
  assert.equal(await a.title(), 'Messenger');
  assert.equal(await lastMsg(a, 'bob'), 'are you there?');

  // buzz: the window shakes and a sound plays
  await b.click('button[aria-label="Buzz alice"]');
  await a.waitForFunction(() => [...document.querySelectorAll('.msg.buzz .text')].length > 0);
  await a.waitForFunction(() => Number(document.body.dataset.buzzSound || 0) > 0);
  await shot(a, 'messenger-5-buzz');

  // keyboard only: Tab from the message box reaches Buzz and Send; Enter sends
  await a.focus('textarea[aria-label="Message to bob"]');
  await a.keyboard.type('typed with the keyboard');
  await a.keyboard.press('Enter');
  await b.waitForFunction(() => [...document.querySelectorAll('.log .msg.theirs .text')].some((e) => e.textContent === 'typed with the keyboard'));
  await a.keyboard.press('Tab');
  assert.equal(await a.evaluate(() => document.activeElement.getAttribute('aria-label')), 'Buzz bob');
  await a.keyboard.press('Tab');
  assert.equal(await a.evaluate(() => document.activeElement.textContent), 'Send');
  await a.keyboard.press('Shift+Tab');
  await a.keyboard.press('Shift+Tab');
  assert.equal(await a.evaluate(() => document.activeElement.getAttribute('aria-label')), 'Message to bob');

  // alice goes invisible: bob sees her offline; back: online
  await a.selectOption('#status', '12');
  await waitBuddy(b, 'alice', 'offline');
  await shot(b, 'messenger-6-alice-invisible');
  await a.selectOption('#status', '0');
  await waitBuddy(b, 'alice', 'online');
  // busy with a custom message shows on bob's list
  await a.selectOption('#status', '99');
  await a.fill('#status-msg', 'in a meeting ☕');
  await a.press('#status-msg', 'Enter');
  await b.waitForFunction(() => /in a meeting ☕/.test(document.querySelector('.buddy[data-id="alice"]').textContent));
  await waitBuddy(b, 'alice', 'away');

  // phone-sized viewport
  await b.setViewportSize({ width: 375, height: 720 });
  await shot(b, 'messenger-7-phone');
  await b.setViewportSize({ width: 1100, height: 760 });

  // the server restarts: both pages reconnect and see each other again
  await srv.stop();
  await a.waitForFunction(() => /Reconnecting/.test(document.querySelector('#conn').textContent));
  await shot(a, 'messenger-8-reconnecting');
  await srv.start();
  await waitBuddy(a, 'bob', 'online');
  await waitBuddy(b, 'alice', 'away');
  await a.waitForFunction(() => document.querySelector('#conn').hidden);
  await a.fill('textarea[aria-label="Message to bob"]', 'back after the restart');
  await a.press('textarea[aria-label="Message to bob"]', 'Enter');
  await b.waitForFunction(() => [...document.querySelectorAll('.log .msg.theirs .text')].some((e) => e.textContent === 'back after the restart'));
  assert.deepEqual(a.errors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/.test(e)), []);
  assert.deepEqual(b.errors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/.test(e)), []);
  // sign out: bob sees alice go offline, and the sign-in form is back
  await a.click('#signout');
  await a.waitForSelector('#signin:not([hidden])');
  await waitBuddy(b, 'alice', 'offline');
  await b.click('#signout');
  await a.close();
  await b.close();
});

test('a ymsg terminal user: offline message shown with its time, then chat both ways', async () => {
  const { spawn, execFile } = await import('node:child_process');
  const exe = process.env.YMSG_CLIENT;
  assert.ok(exe, 'YMSG_CLIENT not set');
  srv.addUser('carol', 'pw-carol');
  const env = { ...process.env, YMSG_USER: 'carol', YMSG_PASSWORD: 'pw-carol' };
  const common = ['--no-config', '--server', `127.0.0.1:${srv.ymsgPort}`, '--login-url', srv.url];
  // alice is offline: carol's first message is stored and shown with its time when alice signs in
  await new Promise((resolve, reject) => execFile(exe, [...common, 'send', '--to', 'alice', 'while you were away 🌙'],
    { env, timeout: 30000 }, (e, so, se) => (e ? reject(new Error(`ymsg send: ${e.message} ${se}`)) : resolve())));
  const page = await newPage(browser);
  await signIn(page, 'alice', 'pw-alice');
  await page.waitForSelector('#main:not([hidden])');
  await page.waitForSelector('.tab[data-id="carol"]');
  await page.click('.tab[data-id="carol"]');
  assert.equal(await lastMsg(page, 'carol'), 'while you were away 🌙');
  assert.match(await page.textContent('.log[aria-label="Conversation with carol"] .msg.offline time'),
    /^sent while you were away, .*\d/);
  await shot(page, 'messenger-9a-offline-message');
  // carol sends from the terminal client (it signs in, sends, signs off)
  await new Promise((resolve, reject) => execFile(exe, [...common, 'send', '--to', 'alice', 'from the terminal ✓ 🌷'],
    { env, timeout: 30000 }, (e, so, se) => (e ? reject(new Error(`ymsg send: ${e.message} ${se}`)) : resolve())));
  await page.waitForFunction(() => [...document.querySelectorAll('.log .msg .text')].some((e) => e.textContent === 'from the terminal ✓ 🌷'));
  assert.equal(await lastMsg(page, 'carol'), 'from the terminal ✓ 🌷');
  // then listens; alice answers once it is signed in
  const listener = spawn(exe, [...common, 'listen', '--json', '--timeout', '60'], { env });
  let out = '';
  const listened = new Promise((resolve) => listener.on('exit', resolve));
  await new Promise((resolve) => listener.stdout.on('data', (d) => { out += d; if (out.includes('logged_in')) resolve(); }));
  await page.fill('textarea[aria-label="Message to carol"]', 'from the browser ✓ 🌼');
  await page.press('textarea[aria-label="Message to carol"]', 'Enter');
  await shot(page, 'messenger-9-terminal-user');
  const seen = setInterval(() => { if (out.includes('from the browser')) listener.kill('SIGTERM'); }, 100);
  const code = await listened;
  clearInterval(seen);
  const ev = out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((e) => e.event === 'message');
  assert.ok(ev, `no message event (exit ${code}): ${out}`);
  assert.match(JSON.stringify(ev), /alice/);
  assert.match(JSON.stringify(ev), /from the browser ✓ 🌼/);
});

test('desktop notifications (opt-in) while the window is in the background; buzz with reduced motion', async () => {
  // alice grants notifications and prefers reduced motion; the page records each Notification it creates
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 760 }, permissions: ['notifications'],
    reducedMotion: 'reduce' });
  await ctx.addInitScript(() => {
    const Real = window.Notification;
    window.madeNotes = [];
    window.Notification = class extends Real {
      constructor(t, o) { super(t, o); window.madeNotes.push({ title: t, body: o?.body }); }
    };
  });
  const a = await ctx.newPage();
  a.errors = [];
  a.on('pageerror', (e) => a.errors.push(`pageerror: ${e.message}`));
  const b = await newPage(browser);
  await signIn(a, 'alice', 'pw-alice');
  await a.waitForSelector('#main:not([hidden])');
  await signIn(b, 'bob', 'pw-bob');
  await b.waitForSelector('#main:not([hidden])');
  await waitBuddy(b, 'alice', 'online');
  const send = async (text) => {
    await b.click('.buddy[data-id="alice"]');
    await b.fill('textarea[aria-label="Message to alice"]', text);
    await b.press('textarea[aria-label="Message to alice"]', 'Enter');
    await a.waitForFunction((t) => [...document.querySelectorAll('.log .msg.theirs .text')].some((e) => e.textContent === t), text);
  };
  // the window in the background: another tab of alice's browser comes to the front (playwright's
  // focus emulation, which tells every page it has the focus, is off for alice's page)
  const cdp = await ctx.newCDPSession(a);
  await cdp.send('Emulation.setFocusEmulationEnabled', { enabled: false });
  const otherTab = await ctx.newPage();
  const away = async () => {
    await otherTab.bringToFront();
    assert.equal(await a.evaluate(() => document.hasFocus()), false);
  };
  const back = async () => {
    await a.bringToFront();
    assert.equal(await a.evaluate(() => document.hasFocus()), true);
  };
  // not opted in: nothing, even in the background
  await away();
  await send('before opting in');
  assert.deepEqual(await a.evaluate(() => window.madeNotes), []);
  // opted in, window in front: no notification either
  await back();
  await a.click('#notify');
  assert.equal(await a.getAttribute('#notify', 'aria-pressed'), 'true');
  await a.click('.buddy[data-id="bob"]');
  // what a screen reader is told: the buddy list, the open conversations and each chat log by role
  assert.equal(await a.getByRole('list', { name: 'Buddy list' }).count(), 1);
  assert.equal(await a.getByRole('tablist', { name: 'Open conversations' }).count(), 1);
  assert.equal(await a.getByRole('tab', { name: /bob/ }).getAttribute('aria-selected'), 'true');
  assert.equal(await a.getByRole('log', { name: 'Conversation with bob' }).count(), 1);
  assert.equal(await a.getByRole('tabpanel').filter({ has: a.getByRole('log', { name: 'Conversation with bob' }) }).count(), 1);
  await send('while you look');
  assert.deepEqual(await a.evaluate(() => window.madeNotes), []);
  // opted in, window in the background: one notification with the sender and the text
  await away();
  await send('while you are away 🔔');
  assert.deepEqual(await a.evaluate(() => window.madeNotes), [{ title: 'bob', body: 'while you are away 🔔' }]);
  await back();

  // buzz under prefers-reduced-motion: the chat flashes, the window does not shake, the sound plays
  await b.click('button[aria-label="Buzz alice"]');
  await a.waitForFunction(() => document.querySelector('.panel.flash') !== null);
  assert.equal(await a.evaluate(() => document.getElementById('app').classList.contains('shake')), false);
  await a.waitForFunction(() => Number(document.body.dataset.buzzSound || 0) > 0);
  await shot(a, 'messenger-10-reduced-motion-buzz');
  assert.deepEqual(a.errors, []);
  await a.click('#signout');
  await b.click('#signout');
  await ctx.close();
  await b.close();
});

test('declining an authorisation request: the requester sees the decline', async () => {
  srv.addUser('dave', 'pw-dave');
  const d = await newPage(browser), a = await newPage(browser);
  await signIn(d, 'dave', 'pw-dave');
  await d.waitForSelector('#main:not([hidden])');
  await signIn(a, 'alice', 'pw-alice');
  await a.waitForSelector('#main:not([hidden])');
  await d.fill('#add-id', 'alice');
  await d.fill('#add-msg', 'hello from dave');
  await d.press('#add-msg', 'Enter');
  await a.waitForSelector('button[aria-label="Decline dave"]');
  assert.match(await a.textContent('#requests'), /hello from dave/);
  await a.click('button[aria-label="Decline dave"]');
  await a.waitForSelector('#requests', { state: 'hidden' });
  await d.waitForFunction(() => [...document.querySelectorAll('.log .msg .text')]
    .some((e) => /^alice declined your request/.test(e.textContent)), null, { timeout: 15000 });
  assert.match(await lastMsg(d, 'alice'), /^alice declined your request: No thanks$/);
  await shot(d, 'messenger-11-declined');
  // alice is not on dave's list as a buddy who can be seen online
  assert.doesNotMatch(await d.evaluate(() => document.querySelector('.buddy[data-id="alice"]')?.className || ''), /\bonline\b/);
  assert.deepEqual(d.errors, []);
  assert.deepEqual(a.errors, []);
  await d.close();
  await a.close();
});
