// Conferences and chat rooms in the web messenger (issue 14), Debian's Chromium against the real
// ymsgd: three browser users in one conference (invite with a message, a decline the inviter sees,
// an invitation from inside the conference, join/leave notices and the member list pane, messages,
// leaving), and two users in a chat room picked from the room list ymsgd serves (/ycontent/).  File
// transfer is test_files.mjs.
// Screenshots go to <build>/tests/e2e/web/screenshots/groups-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBoth, stopBoth, newPage, shot } from './harness.mjs';

let srv, browser;
before(async () => ({ srv, browser } = await startBoth(['alice', 'bob', 'carol', 'dave'])));
after(() => stopBoth(srv, browser));

async function signedIn(user, invisible = false) {
  const page = await newPage(browser);
  await page.goto(`${srv.url}/`);
  await page.waitForSelector('body[data-ready="1"]');
  await page.fill('#user', user);
  await page.fill('#pass', `pw-${user}`);
  if (invisible) await page.check('#invisible');
  await page.press('#pass', 'Enter');
  await page.waitForSelector('#main:not([hidden])');
  return page;
}

// The texts of a group's log (system lines and messages, with the sender of a message first).
const logOf = (page, name) => page.$$eval(`.log[aria-label$=" ${name}"] li.msg`,
  (els) => els.map((e) => [e.querySelector('.from')?.textContent, e.querySelector('.text').textContent].filter(Boolean).join(': ')));
const membersOf = (page, name) => page.$$eval(`ul[aria-label="Members of ${name}"] li`, (els) => els.map((e) => e.dataset.id).sort());
async function waitLog(page, name, text) {
  await page.waitForFunction(([n, t]) => [...document.querySelectorAll(`.log[aria-label$=" ${n}"] li.msg`)]
    .some((e) => e.textContent.includes(t)), [name, text], { timeout: 15000 });
}
async function waitMembers(page, name, ids) {
  await page.waitForFunction(([n, want]) => JSON.stringify([...document.querySelectorAll(`ul[aria-label="Members of ${n}"] li`)]
    .map((e) => e.dataset.id).sort()) === JSON.stringify(want), [name, [...ids].sort()], { timeout: 15000 });
}

test('three users in a conference: invite, decline, invite again, join, messages, leave', async () => {
  const a = await signedIn('alice'), b = await signedIn('bob'), c = await signedIn('carol');

  // the dialog closes with Escape and gives the focus back to its button
  await a.click('#new-conf');
  await a.waitForSelector('#invite-dlg[open]');
  await a.keyboard.press('Escape');
  await a.waitForSelector('#invite-dlg:not([open])', { state: 'attached' });
  assert.equal(await a.evaluate(() => document.activeElement.id), 'new-conf');
  assert.equal(await a.$('.tab.conf'), null);

  // alice opens a conference with bob and carol from the dialog (typed ids: they are not her buddies)
  await a.click('#new-conf');
  await a.waitForSelector('#invite-dlg[open]');
  assert.equal(await a.getByRole('dialog', { name: 'New conference' }).count(), 1);
  await a.fill('#invite-ids', 'bob, carol');
  await a.fill('#invite-msg', 'Planning the trip 🏔');
  await shot(a, 'groups-1-invite-dialog');
  await a.press('#invite-msg', 'Enter');
  await a.waitForSelector('#invite-dlg:not([open])', { state: 'attached' });
  const room = await a.$eval('.tab.conf', (t) => t.dataset.id.slice('conf:'.length));
  assert.equal(room, 'alice-1'); // Pidgin's "<me>-<n>" names
  assert.deepEqual(await membersOf(a, room), ['alice']);
  assert.equal(await a.getAttribute('.tab.conf', 'aria-selected'), 'true');

  // both get the invitation with its message; carol declines, alice is told in the conference
  for (const p of [b, c]) {
    await p.waitForSelector(`button[aria-label="Join conference ${room}"]`);
    assert.match(await p.textContent('#invites'), /alice invites you to the conference alice-1.*Planning the trip 🏔/);
  }
  await shot(c, 'groups-2-invitation');
  await c.click(`button[aria-label="Decline conference ${room}"]`);
  await c.waitForSelector('#invites', { state: 'hidden' });
  await waitLog(a, room, 'carol declined the invitation: No, thanks.');
  assert.equal(await c.$('.tab.conf'), null);

  // bob joins: his tab lists alice and him; alice sees the join and the new member
  await b.click(`button[aria-label="Join conference ${room}"]`);
  await b.waitForSelector(`.tab.conf[data-id="conf:${room}"][aria-selected="true"]`);
  await waitMembers(b, room, ['alice', 'bob']);
  await waitLog(a, room, 'bob joined.');
  await waitMembers(a, room, ['alice', 'bob']);

  // from inside the conference alice invites carol again (0x1C); bob, an online buddy of nobody, is
  // not offered twice; carol joins this time
  await a.click(`button[aria-label="Invite to ${room}"]`);
  await a.waitForSelector('#invite-dlg[open]');
  assert.equal(await a.textContent('#invite-title'), `Invite to ${room}`);
  await a.fill('#invite-ids', 'carol');
  await a.fill('#invite-msg', 'changed your mind?');
  await a.click('#invite-form button[type="submit"]');
  await c.waitForSelector(`button[aria-label="Join conference ${room}"]`);
  assert.match(await c.textContent('#invites'), /changed your mind\?/);
  assert.match(await c.textContent('#invites'), /Also in it: bob/);
  await c.click(`button[aria-label="Join conference ${room}"]`);
  for (const p of [a, b, c]) await waitMembers(p, room, ['alice', 'bob', 'carol']);
  await waitLog(a, room, 'carol joined.');
  await waitLog(b, room, 'carol joined.');
  // carol was told who was there already; no "joined" line for them in her log
  assert.deepEqual((await logOf(c, room)).filter((t) => /joined\.$/.test(t)), []);

  // messages: every member gets each one once, the sender's own shown as its own
  await b.fill(`textarea[aria-label="Message to ${room}"]`, 'hi all 👋 ça va');
  await b.press(`textarea[aria-label="Message to ${room}"]`, 'Enter');
  for (const p of [a, c]) await waitLog(p, room, 'hi all 👋 ça va');
  await waitLog(b, room, 'hi all 👋 ça va');
  assert.equal((await logOf(a, room)).filter((t) => t === 'bob: hi all 👋 ça va').length, 1);
  assert.equal(await b.$$eval(`.log[aria-label$=" ${room}"] li.msg.mine .text`, (e) => e.map((x) => x.textContent)).then((x) => x.join()), 'hi all 👋 ça va');
  await c.focus(`textarea[aria-label="Message to ${room}"]`);
  await c.keyboard.type('keyboard only ✓');
  await c.keyboard.press('Enter');
  for (const p of [a, b]) await waitLog(p, room, 'keyboard only ✓');
  assert.ok((await logOf(b, room)).includes('carol: keyboard only ✓'));
  // what a screen reader is told: the conference's tab, log and member list by role and name
  assert.equal(await a.getByRole('tab', { name: new RegExp(room) }).count(), 1);
  assert.equal(await a.getByRole('log', { name: `Conference ${room}` }).count(), 1);
  assert.equal(await a.getByRole('list', { name: `Members of ${room}` }).count(), 1);
  await shot(a, 'groups-3-conference');

  // carol leaves with the Leave button: the others see it and their lists shrink; her tab is gone
  await c.click(`button[aria-label="Leave ${room}"]`);
  assert.equal(await c.$('.tab.conf'), null);
  for (const p of [a, b]) {
    await waitLog(p, room, 'carol left.');
    await waitMembers(p, room, ['alice', 'bob']);
  }
  // bob leaves by closing the tab with the keyboard (Delete on the tab): alice is alone
  await b.focus('.tab.conf');
  await b.keyboard.press('Delete');
  await waitLog(a, room, 'bob left.');
  await waitMembers(a, room, ['alice']);
  await shot(a, 'groups-4-after-leaving');
  for (const p of [a, b, c]) assert.deepEqual(p.errors, []);
  for (const p of [a, b, c]) await p.close();
});

test('invitees offline and invisible look the same to the inviter; the invisible one is invited all the same', async () => {
  // dave never signs in; carol is invisible
  const a = await signedIn('alice'), c = await signedIn('carol', true);
  await a.click('#new-conf');
  await a.fill('#invite-ids', 'dave carol');
  await a.click('#invite-form button[type="submit"]');
  const room = await a.$eval('.tab.conf', (t) => t.dataset.id.slice('conf:'.length));
  // ymsgd answers "not available" as a decline (0x1A, as Yahoo did): the same words for both
  await waitLog(a, room, 'dave is not available.');
  await waitLog(a, room, 'carol is not available.');
  const fails = (await logOf(a, room)).filter((t) => /not available/.test(t)).map((t) => t.replaceAll(/dave|carol/g, 'X'));
  assert.deepEqual(fails, ['X is not available.', 'X is not available.']);
  assert.deepEqual(await membersOf(a, room), ['alice']);
  // carol (invisible) gets the invitation and may join: joining reveals her to the conference only
  await c.waitForSelector(`button[aria-label="Join conference ${room}"]`);
  await c.click(`button[aria-label="Join conference ${room}"]`);
  await waitLog(a, room, 'carol joined.');
  await waitMembers(a, room, ['alice', 'carol']);
  await shot(a, 'groups-4b-invisible-invitee');
  for (const p of [a, c]) assert.deepEqual(p.errors, []);
  await a.close();
  await c.close();
});

test('two users in a chat room from the room list', async () => {
  const a = await signedIn('alice'), b = await signedIn('bob');
  // the rooms dialog lists ymsgd's categories and rooms (the embedded default set)
  await a.click('#rooms-btn');
  await a.waitForSelector('#rooms-dlg[open] .room-pick[data-room="Linux"]');
  assert.equal(await a.getByRole('dialog', { name: 'Chat rooms' }).count(), 1);
  assert.match(await a.textContent('#rooms-list'), /Computers & Internet/);
  assert.match(await a.textContent('.room-pick[data-room="Linux"]'), /Penguins welcome/);
  await shot(a, 'groups-5-rooms-dialog');
  await a.click('.room-pick[data-room="Linux"]');
  await a.waitForSelector('.tab.room[data-id="room:Linux"][aria-selected="true"]');
  await waitMembers(a, 'Linux', ['alice']);
  assert.match(await a.textContent('.panel.group:not([hidden]) .group-head'), /Linux: Penguins welcome/);

  // bob picks it with the keyboard: the first room has the focus, arrows are not needed for buttons
  await b.click('#rooms-btn');
  await b.waitForSelector('#rooms-dlg[open] .room-pick[data-room="Linux"]');
  await b.focus('.room-pick[data-room="Linux"]');
  await b.keyboard.press('Enter');
  await b.waitForSelector('.tab.room[data-id="room:Linux"]');
  await waitMembers(b, 'Linux', ['alice', 'bob']);
  await waitMembers(a, 'Linux', ['alice', 'bob']);
  await waitLog(a, 'Linux', 'bob joined.');

  // messages both ways (a room message is not echoed by the server: each side shows its own once)
  await a.fill('textarea[aria-label="Message to Linux"]', 'anyone on Debian? 🐧');
  await a.press('textarea[aria-label="Message to Linux"]', 'Enter');
  await waitLog(b, 'Linux', 'anyone on Debian? 🐧');
  assert.ok((await logOf(b, 'Linux')).includes('alice: anyone on Debian? 🐧'));
  await b.fill('textarea[aria-label="Message to Linux"]', 'sid here ✓');
  await b.press('textarea[aria-label="Message to Linux"]', 'Enter');
  await waitLog(a, 'Linux', 'sid here ✓');
  // longer than a room message may be (1024 bytes; ymsgd would drop it silently): refused on the page
  await a.fill('textarea[aria-label="Message to Linux"]', 'é'.repeat(513));
  await a.press('textarea[aria-label="Message to Linux"]', 'Enter');
  await waitLog(a, 'Linux', 'Not sent: 1026 bytes, a room message takes at most 1024.');
  assert.equal(await a.inputValue('textarea[aria-label="Message to Linux"]'), 'é'.repeat(513));
  assert.equal((await logOf(a, 'Linux')).filter((t) => t.includes('anyone on Debian')).length, 1);
  assert.ok((await logOf(a, 'Linux')).includes('bob: sid here ✓'));
  await shot(b, 'groups-6-room');

  // bob moves to another room: alice sees him leave Linux; his Linux tab says he left
  await b.click('#rooms-btn');
  await b.waitForSelector('#rooms-dlg[open] .room-pick');
  const other = await b.$$eval('.room-pick', (els) => els.map((e) => e.dataset.room).find((r) => r !== 'Linux'));
  await b.click(`.room-pick[data-room="${other}"]`);
  await b.waitForSelector(`.tab.room[data-id="room:${other}"]`);
  await waitLog(a, 'Linux', 'bob left.');
  await waitMembers(a, 'Linux', ['alice']);
  await waitLog(b, 'Linux', 'You left Linux.');
  assert.equal(await b.isDisabled('textarea[aria-label="Message to Linux"]'), true);
  // alice invites carol into the room (0x9D) from the tab's Invite dialog; carol joins from the invitation
  const c = await signedIn('carol');
  await a.click('button[aria-label="Invite to Linux"]');
  await a.waitForSelector('#invite-dlg[open]');
  await a.fill('#invite-ids', 'carol');
  await a.fill('#invite-msg', 'penguins here');
  await a.press('#invite-msg', 'Enter');
  await waitLog(a, 'Linux', 'You invited carol.');
  await c.waitForSelector('button[aria-label="Join room Linux"]');
  assert.match(await c.textContent('#invites'), /alice invites you to the room Linux.*penguins here/);
  await c.click('button[aria-label="Join room Linux"]');
  await waitMembers(c, 'Linux', ['alice', 'carol']);
  await waitLog(a, 'Linux', 'carol joined.');
  // a phone-sized viewport: the member pane stays beside the log
  await c.setViewportSize({ width: 375, height: 720 });
  await shot(c, 'groups-6b-room-phone');
  // alice leaves with the Leave button
  await a.click('button[aria-label="Leave Linux"]');
  assert.equal(await a.$('.tab.room'), null);
  await waitLog(c, 'Linux', 'alice left.');
  await waitMembers(c, 'Linux', ['carol']);
  assert.ok(!(await logOf(b, 'Linux')).some((t) => t.includes('é'.repeat(20))), 'the refused message went out');
  for (const p of [a, b, c]) assert.deepEqual(p.errors, []);
  for (const p of [a, b, c]) await p.close();
});

test('after a server restart both pages rejoin their conference and room: messages flow again; a full room refuses', async () => {
  const t0 = Date.now();
  const a = await signedIn('alice'), b = await signedIn('bob');
  // a conference alice opens with bob, and the room Linux with both
  await a.click('#new-conf');
  await a.fill('#invite-ids', 'bob');
  await a.click('#invite-form button[type="submit"]');
  const room = await a.$eval('.tab.conf', (t) => t.dataset.id.slice('conf:'.length));
  await b.click(`button[aria-label="Join conference ${room}"]`);
  await waitMembers(a, room, ['alice', 'bob']);
  for (const p of [a, b]) {
    await p.click('#rooms-btn');
    await p.click('#rooms-dlg[open] .room-pick[data-room="Linux"]');
    await p.waitForSelector('.tab.room[data-id="room:Linux"]');
  }
  await waitMembers(a, 'Linux', ['alice', 'bob']);

  // both ways in both tabs, with a distinct text per round
  async function talk(tag, groups = [room, 'Linux']) {
    for (const [from, to] of [[a, b], [b, a]]) {
      const who = from === a ? 'alice' : 'bob';
      for (const g of groups) {
        await from.click(`.tab[data-id="${g === room ? 'conf:' + room : 'room:Linux'}"]`);
        await from.fill(`textarea[aria-label="Message to ${g}"]`, `${tag} from ${who} in ${g}`);
        await from.press(`textarea[aria-label="Message to ${g}"]`, 'Enter');
        await waitLog(to, g, `${tag} from ${who} in ${g}`);
      }
    }
  }
  await talk('before');

  // ymsgd restarts (conferences and room membership are gone with it): each page reconnects, says
  // so in both tabs and rejoins; the one back first re-opens the conference and invites the other
  async function restart(extra) {
    await srv.stop();
    for (const p of [a, b]) for (const g of [room, 'Linux']) await waitLog(p, g, 'You were disconnected: you will rejoin');
    assert.equal(await a.isDisabled(`textarea[aria-label="Message to ${room}"]`), true);
    srv.extra = extra;
    await srv.start();
  }
  await restart([]);
  for (const p of [a, b]) {
    await waitLog(p, room, `Reconnected: you are back in ${room}.`);
    await waitLog(p, 'Linux', 'Reconnected: you are back in Linux.');
  }
  await waitMembers(a, room, ['alice', 'bob']);
  await waitMembers(b, room, ['alice', 'bob']);
  await waitMembers(a, 'Linux', ['alice', 'bob']);
  await waitMembers(b, 'Linux', ['alice', 'bob']);
  await talk('after');
  await shot(b, 'groups-7-rejoined');

  // again with rooms of one member: whoever is back first gets Linux, the other reads the refusal;
  // the conference comes back all the same
  await restart(['--chat-room-max-members', '1']);
  for (const p of [a, b]) await waitLog(p, room, `Reconnected: you are back in ${room}.`);
  // the last line of each Linux log: "You were disconnected…" until the rejoin's outcome follows it
  await Promise.all([a, b].map((p) => p.waitForFunction(() => /Reconnected: you are back in Linux\.|could not rejoin Linux/
    .test([...document.querySelectorAll('.log[aria-label$=" Linux"] li.msg')].pop()?.textContent), null, { timeout: 15000 })));
  const outcomes = await Promise.all([a, b].map((p) => logOf(p, 'Linux').then((l) => l.slice(-1)[0])));
  assert.deepEqual(outcomes.map((t) => /^Reconnected: you are back in Linux\.$/.test(t)).sort(), [false, true], outcomes.join(' | '));
  const refused = outcomes.find((t) => !/back in Linux/.test(t));
  assert.match(refused, /^Reconnected, but could not rejoin Linux: .*full.*\.$/i, refused);
  await waitMembers(a, room, ['alice', 'bob']);
  await talk('again', [room]);
  assert.equal(await (outcomes[0] === refused ? a : b).isDisabled('textarea[aria-label="Message to Linux"]'), true);
  await shot(outcomes[0] === refused ? a : b, 'groups-8-room-full');
  for (const p of [a, b]) assert.deepEqual(p.errors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/.test(e)), []);
  for (const p of [a, b]) await p.close();
  console.log(`# rejoin after restarts: ${Date.now() - t0} ms`);
});
