// The web phonebook in Debian's Chromium against the real ymsgd: log in (a wrong password first),
// add / edit / delete / sort contacts, Sync, reload, log in again and get the list back; screenshots
// of each screen under <build>/tests/e2e/web/screenshots.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { startBoth, stopBoth, newPage, shot, YMSGD } from './harness.mjs';

let srv, browser;
before(async () => ({ srv, browser } = await startBoth(['alice', 'erin'])));
after(() => stopBoth(srv, browser));

async function login(page, user, pass) {
  await page.goto(`${srv.url}/phonebook/`);
  await page.waitForSelector('body[data-ready="1"]');
  await page.fill('#user', user);
  await page.fill('#pass', pass);
  await page.click('#login-btn');
}

const rows = (page) => page.$$eval('#rows tr', (trs) => trs.map((tr) =>
  [...tr.querySelectorAll('td')].slice(0, 3).map((td) => td.textContent)));

test('log in, edit, sync, reload, log in again: the list comes back', async () => {
  const page = await newPage(browser);
  await login(page, 'alice', 'wrong');
  await page.waitForSelector('#status.error');
  assert.equal(await page.textContent('#status'), 'Wrong ID or password.');
  await shot(page, 'phonebook-1-wrong-password');

  await page.fill('#pass', 'pw-alice');
  await page.click('#login-btn');
  await page.waitForSelector('#book:not([hidden])');
  await page.waitForSelector('#status.ok');
  assert.equal(await page.textContent('#count'), '0');
  await shot(page, 'phonebook-2-empty');

  for (const [n, p, e] of [['Zoë 😀', '+1 555 0100', 'zoe@example.com'], ['bob', '555-1234', 'bob@example.com'],
    ['Carol', '555-9999', 'carol@example.com']]) {
    await page.fill('#e-name', n); await page.fill('#e-phone', p); await page.fill('#e-email', e);
    await page.press('#e-email', 'Enter');
  }
  assert.equal(await page.textContent('#count'), '3');
  // sorted by name, case-insensitively
  assert.deepEqual((await rows(page)).map((r) => r[0]), ['bob', 'Carol', 'Zoë 😀']);
  await page.click('th button[data-key="name"]');
  assert.deepEqual((await rows(page)).map((r) => r[0]), ['Zoë 😀', 'Carol', 'bob']);
  assert.equal(await page.getAttribute('#table th:first-child', 'aria-sort'), 'descending');
  // edit bob, delete Carol
  await page.click('button[aria-label="Edit bob"]');
  await page.fill('#e-phone', '555-4321');
  await page.click('#e-save');
  await page.click('button[aria-label="Delete Carol"]');
  await page.click('#sync');
  await page.waitForFunction(() => document.querySelector('#status').textContent.startsWith('Synced'));
  assert.match(await page.textContent('#status'), /^Synced 2 contacts/);
  assert.match(await page.textContent('#reply'), /PhoneEntry/); // the server kept the Flex class
  await page.click('#reply-box summary');
  await shot(page, 'phonebook-3-synced');

  await page.reload();
  await login(page, 'alice', 'pw-alice');
  await page.waitForSelector('#status.ok');
  const back = (await rows(page)).sort((a, b) => a[0].localeCompare(b[0]));
  assert.deepEqual(back, [['bob', '555-4321', 'bob@example.com'], ['Zoë 😀', '+1 555 0100', 'zoe@example.com']]);
  await shot(page, 'phonebook-4-after-reload');

  await page.setViewportSize({ width: 375, height: 740 });
  await shot(page, 'phonebook-5-phone');
  await page.click('#logout');
  await page.waitForSelector('#login:not([hidden])');
  assert.deepEqual(page.errors, []);
});

test('keyboard only: log in and add a contact without the mouse', async () => {
  const page = await newPage(browser);
  await page.goto(`${srv.url}/phonebook/`);
  await page.waitForSelector('body[data-ready="1"]');
  await page.focus('#user');
  await page.keyboard.type('alice');
  await page.keyboard.press('Tab');
  await page.keyboard.type('pw-alice');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#book:not([hidden])');
  await page.waitForSelector('#status.ok');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'e-name');
  await page.keyboard.type('Dave');
  await page.keyboard.press('Enter');
  assert.equal(await page.textContent('#count'), '3');
  assert.deepEqual(page.errors, []);
});

// amfcall (our Flex client) logs in as erin and calls Phonebook.sync with LIST (JSON), or without
// arguments when LIST is null; returns the list the server answered.
function flexSync(list) {
  const amfcall = path.join(path.dirname(YMSGD), '..', 'tools', 'amfcall', 'amfcall');
  const out = execFileSync(amfcall, ['--destination', 'Phonebook', '--source', 'Phonebook', '--class',
    `${srv.url}/api.php`, 'login', '"erin"', '"pw-erin"', '--', 'sync', ...(list ? [JSON.stringify(list)] : [])],
  { env: { ...process.env, AMFCALL_PASSWORD: 'unused' } }).toString().trim().split('\n');
  return JSON.parse(out[out.length - 1]);
}

test('members the page does not show (the address book Pidgin reads) survive a sync from the page', async () => {
  const seeded = [
    { $class: 'PhoneEntry', name: 'Erin Doe', phone: '555-0001', email: 'e@example.com', yahooId: 'erin2',
      nickname: 'Ernie', mobile: '555-0002', extra: { n: 1 } },
    { yahooId: 'frank', firstName: 'Frank', lastName: 'Zappa', nickname: 'fz' },
  ];
  flexSync(seeded);
  const page = await newPage(browser);
  await page.goto(`${srv.url}/phonebook/`);
  await page.waitForSelector('body[data-ready="1"]');
  await page.fill('#user', 'erin');
  await page.fill('#pass', 'pw-erin');
  await page.click('#login-btn');
  await page.waitForSelector('#status.ok');
  // an entry with first and last name but no single name is shown by its full name
  assert.deepEqual((await rows(page)).map((r) => r[0]).sort(), ['Erin Doe', 'Frank Zappa']);
  await page.click('button[aria-label="Edit Erin Doe"]');
  await page.fill('#e-phone', '555-0009');
  await page.click('#e-save');
  await page.click('#sync');
  await page.waitForFunction(() => document.querySelector('#status').textContent.startsWith('Synced'));
  const back = flexSync(null);
  assert.deepEqual(back, [{ ...seeded[0], phone: '555-0009' }, seeded[1]]);
  assert.deepEqual(page.errors, []);
});
