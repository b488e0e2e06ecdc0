#!/usr/bin/env python3
"""libpurple 2.10.9 (Pidgin's yahoo plugin, from the real-client kit) and the AMF Phonebook share one
address book (issue 15).

usage: yab_purple.py --kit KIT --work WORKDIR --ymsgd YMSGD --ymsg YMSG --out BUILDDIR

alice's phonebook is synced over AMF0 (entries for bob, carol and dave, plus members the address book
does not know).  libpurple logs in as alice with purple_yab.c (ours, built here against the kit's
libpurple) and must show bob's nickname, dave's full name and bob's three numbers in the tooltip, all
from GET /yab/us.  carol's entry has no name, and Pidgin holds a local alias for her: Pidgin sends it up
itself (yahoo_update_alias, e="1" with the id it fetched); then the user renames bob.  Phonebook.sync()
must return both new nicknames with every other member unchanged, byte for byte in AMF.  A missing kit
or program is a FAIL, never a skip."""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "e2e", "gateway"))
from peers_session import Peer, run_main  # noqa: E402


def run(s, exe):
    sys.argv[1:] = [s.a.ymsgd]                   # gateway_e2e reads YMSGD from argv at import
    from amfpy import encode0  # noqa: E402
    from gateway_e2e import Client  # noqa: E402

    s.befriend(("alice", "bob"), ("alice", "carol"), ("alice", "dave"))
    # the phonebook, over AMF0 (classic calls), with members the address book does not map
    book = [{"yahooId": "bob", "firstName": "Bob", "lastName": "Builder", "nickname": "Bobby B",
             "phone": "+1 555 0100", "workPhone": "+1 555 0101", "mobile": "+1 555 0102",
             "email": "bob@example.com", "notes": "met at the fair", "stars": 4.5},
            {"yahooId": "carol", "phone": "555 0200", "tags": ["work", "ski"]},
            {"yahooId": "dave", "name": "Dave Smith", "birthday": "1990-01-01"}]
    amf = Client(s.p_http)
    ok, v, _ = amf.call("Phonebook.login", "alice", s.pw)
    if not s.step("amf-login", ok and v is True, repr(v)):
        return
    ok, v, _ = amf.call("Phonebook.sync", book)
    s.step("amf-sync", ok and v == book, "AMF0 list of 3 entries stored")

    # libpurple logs in, trusting this server (Session.purple_userdir)
    env = s.shim_env(LD_PRELOAD=os.path.join(s.work, "lib", "yahoo_shim.so"))
    userdir = s.purple_userdir("alice")
    p = Peer("alice", "purple_yab", [exe, "alice", s.pw, userdir, "bob=", "carol=Caro Local", "dave="], env, s.tmp)
    s.procs.append(p)
    if not s.step("login", bool(p.wait([r"^EV signed-on alice$"], timeout=45)),
                  p.find([r"connection-error"]) or "signed on"):
        return
    # the address book arrives right after the buddy list; Pidgin shows what it found
    hit = p.wait([r"^EV show bob alias=Bobby B "], timeout=30, repeat="show bob", every=2)
    s.step("nickname", bool(hit), hit or "bob's alias never became his phonebook nickname 'Bobby B'")
    m = p.mark()
    p.say("show bob")
    time.sleep(1)
    tips = [p.find([r"^EV tip bob %s=%s$" % (lab, val)], m) for lab, val in
            (("Home Phone Number", r"\+1 555 0100"), ("Work Phone Number", r"\+1 555 0101"),
             ("Mobile Phone Number", r"\+1 555 0102"))]
    s.step("numbers", all(tips), "tooltip: %s" % tips)
    hit = p.wait([r"^EV show dave alias=Dave Smith "], timeout=10, repeat="show dave", every=2)
    s.step("full-name", bool(hit), hit or "dave's alias is not the full name from his phonebook 'name'")
    # carol: no name in the book, a local alias in Pidgin: Pidgin sends it up on its own
    deadline, got = time.time() + 20, None
    while time.time() < deadline:
        ok, v, _ = amf.call("Phonebook.sync")
        if ok and isinstance(v, list) and len(v) == 3 and v[1].get("nickname") == "Caro Local":
            got = v
            break
        time.sleep(1)
    s.step("alias-up", got is not None, "Pidgin's local alias for carol reached the phonebook")
    # the user renames bob in Pidgin
    p.say("alias bob Builder Bob")
    deadline, got = time.time() + 20, None
    while time.time() < deadline:
        ok, v, raw = amf.call("Phonebook.sync")
        if ok and isinstance(v, list) and v[0].get("nickname") == "Builder Bob":
            got = raw
            break
        time.sleep(1)
    want = [dict(book[0], nickname="Builder Bob"), dict(book[1], nickname="Caro Local"), book[2]]
    s.step("alias-edit", got is not None and got == encode0(want),
           "Phonebook.sync() = the list with the two new nicknames, every other member byte for byte")
    log = open(p.err.name, errors="replace").read()
    s.step("pidgin-saw", "Alias update for bob succeeded" in log and "Alias update for carol succeeded" in log,
           "libpurple's own check of the <ct id=…> answers (debug log)")
    p.say("quit")
    p.gone(15)


def main():
    run_main(run, front_end="purple_yab", label="libpurple-yab")


if __name__ == "__main__":
    main()
