#!/usr/bin/env python3
"""One address book (issue 15): the Phonebook synced over AMF is the address book GET/POST /yab/us
serves to Yahoo messengers (libpurple 2.10.9 yahoo_aliases.c, libyahoo2 1.0.0 yahoo_get_yab).

usage: yab_e2e.py YMSGD [TEST...]

Each test starts the real ymsgd (HTTP and HTTPS) on loopback, syncs phonebooks with Flex (AMF3
ArrayCollection of typed entries) and classic AMF0 calls, logs in with the token login for the Y/T
cookies, and reads the address book the way both clients parse it (an XML parser like libpurple's, and
libyahoo2's strstr reader re-done here); POSTs are the bytes Pidgin sends.  The stored blob is compared
byte for byte with an independent AMF encoder (amfpy)."""
import http.client
import os
import shutil
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import urllib.parse
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "server"))
import amfpy  # noqa: E402
from amfpy import External, Typed, encode0, encode3  # noqa: E402
from gateway_e2e import Client, ack_fields  # noqa: E402
from ymsgd_harness import Server, free_port, run_tests  # noqa: E402

YMSGD = os.path.abspath(sys.argv[1])
FETCH = "/yab/us?v=XM&prog=ymsgr&.intl=us&diffs=1&t=0&tags=short&rt=0&prog-ver=9.0.0.2162&useutf8=1&legenc=codepage-1252"
UPDATE = "/yab/us?v=XM&prog=ymsgr&.intl=us&sync=1&tags=short&noclear=1&useutf8=1&legenc=codepage-1252"
SEALED = ["yahooId", "firstName", "lastName", "nickname", "phone", "workPhone", "mobile", "email", "notes"]


def yab_request(http_port, https_port, method, target, cookie=None, body=None, tls=False):
    """One request to /yab as libpurple sends it; (status, content type, body)."""
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        c = http.client.HTTPSConnection("127.0.0.1", https_port, timeout=20, context=ctx)
    else:
        c = http.client.HTTPConnection("127.0.0.1", http_port, timeout=20)
    h = {"Host": "address.yahoo.com", "Cache-Control": "no-cache"}
    if cookie:
        h["Cookie"] = cookie
    c.request(method, target, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, r.getheader("Content-Type"), data


class YabServer:
    """ymsgd with an HTTPS listener (throw-away certificate) and users alice, bob, carol."""

    def __init__(self, extra=()):
        self.extra = list(extra)

    def __enter__(self):
        if not shutil.which("openssl"):
            raise AssertionError("openssl (Debian package openssl) is needed to make the test certificate")
        self.tmp = tempfile.mkdtemp(prefix="yab-e2e-")
        key, crt = os.path.join(self.tmp, "k.pem"), os.path.join(self.tmp, "c.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt,
                        "-days", "1", "-subj", "/CN=address.yahoo.com"], check=True, capture_output=True, timeout=60)
        self.https_port = free_port()
        self.srv = Server(YMSGD, extra_args=["--tls-cert", crt, "--tls-key", key,
                                             "--https-listen", "127.0.0.1:%d" % self.https_port] + self.extra)
        self.srv.__enter__()
        for u in ("alice", "bob", "carol"):
            self.srv.add_user(u, "pw-" + u)
        return self

    def __exit__(self, *exc):
        self.srv.__exit__(*exc)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def cookies(self, user):
        """Y and T of a token login (pwtoken_get, pwtoken_login), as libpurple keeps them."""
        body = self.srv.token(user, "pw-" + user)
        tok = body.split("\r\n")[1].split("=", 1)[1]
        code, f, _ = self.srv.cookies(tok)
        assert code == "0", code
        return f["Y"].split(";")[0], f["T"].split(";")[0], f

    def yab(self, method, target, cookie=None, body=None, tls=False):
        return yab_request(self.srv.http_port, self.https_port, method, target, cookie, body, tls)

    def blob(self, user):
        if os.environ.get("YMSGD_TEST_PG"):  # the server runs on that PostgreSQL store (pgserver.py run)
            out = subprocess.run(["psql", os.environ["YMSGD_TEST_PG"], "-Atc",
                                  "SELECT encode(data, 'hex') FROM phonebook WHERE owner = '%s'" % user],
                                 capture_output=True, text=True, check=True).stdout.strip()
            return bytes.fromhex(out) if out else None
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.srv.dir, "data", "ymsgd.db"), uri=True)
        try:
            row = db.execute("SELECT data FROM phonebook WHERE user = ?", (user,)).fetchone()
            return bytes(row[0]) if row else None
        finally:
            db.close()


def cookie_header(y, t):
    return "T=%s; Y=%s" % (t, y)   # libpurple's order


def records(xml):
    """The <ct> records as libpurple reads them (an XML parser): list of attribute dicts."""
    root = ET.fromstring(xml)
    assert root.tag == "ab", root.tag
    return [dict(ct.attrib) for ct in root.findall("ct")]


def libyahoo2_records(xml):
    """libyahoo2 1.0.0's reader (yahoo_getyab / yahoo_yab_read): each "<ct" up to the next ">", then
    strstr for e0=", id=", fn=", ln=", nn=", yi=", hphone=", wphone=", mphone=" in that order, each
    value through yahoo_xmldecode ('+' is a space, &#N; a byte, &amp; &quot; &lt; &gt;(as '<'))."""
    def xmldecode(s):
        out, i = bytearray(), 0
        while i < len(s):
            c = s[i]
            if c == ord("+"):
                out.append(32)
                i += 1
            elif c == ord("&") and i + 1 < len(s):
                if s[i + 1] == ord("#"):
                    j = s.index(b";", i)
                    out.append(int(s[i + 2:j]) & 0xFF)
                    i = j + 1
                else:
                    for ent, rep in ((b"amp;", b"&"), (b"quot;", b'"'), (b"lt;", b"<"), (b"gt;", b"<"), (b"nbsp;", b" ")):
                        if s[i + 1:].startswith(ent):
                            out += rep
                            i += 1 + len(ent)
                            break
                    else:
                        out.append(c)
                        i += 1
            else:
                out.append(c)
                i += 1
        return bytes(out).decode("utf-8", "replace")
    out, pos = [], 0
    while True:
        st = xml.find(b"<ct", pos)
        if st < 0:
            return out
        en = xml.find(b">", st)
        rec, pos = xml[st:en + 1], en + 1
        cur = rec.find(b'e0="')
        if cur < 0:
            continue                      # libyahoo2 drops a record without e0
        got = {}
        for name in ("e0", "id", "fn", "ln", "nn", "yi", "hphone", "wphone", "mphone"):
            k = rec.find(name.encode() + b'="', cur)
            if k < 0:
                continue
            v0 = k + len(name) + 2
            v1 = rec.index(b'"', v0)
            got[name] = xmldecode(rec[v0:v1])
            cur = v1 + 1
        out.append(got)


def flex_login_sync(port, user, book):
    """The seed's Flex client: ping, login, sync(book) (or sync() when book is None); the body back."""
    c = Client(port, path="/api.php")
    r = c.flex(amfpy.command_message(5, "P"))
    dsid = ack_fields(r[0][1])["headers"]["DSId"]
    r = c.flex(amfpy.remoting_message("Phonebook.login", [user, "pw-" + user], "L", dsid=dsid))
    assert r and r[0][0] and ack_fields(r[0][1])["body"] is True, r
    dsid = ack_fields(r[0][1])["headers"]["DSId"]
    r = c.flex(amfpy.remoting_message("Phonebook.sync", [book] if book is not None else [], "S", dsid=dsid))
    assert r and r[0][0], r
    return ack_fields(r[0][1])["body"]


def entry(**kw):
    return Typed("PhoneEntry", {k: kw.get(k) for k in SEALED}, SEALED)


def bob_book():
    return External("flex.messaging.io.ArrayCollection", [
        entry(yahooId="carol", firstName="Carol", lastName="O'Neil & <Sons>", nickname="Caz \"the\" =+",
              phone="+1 555 0100", workPhone="+44 20 7946 0000", mobile="+33 6 00 00 00 00", email="carol@example.com",
              notes="keep me"),
        entry(yahooId="dave", firstName="D\u00e9sir\u00e9 \u4e2d\u6587 \U0001F600", nickname=None, notes="x"),
        entry(yahooId=None, firstName="No", lastName="Messenger", phone="123"),
    ])


def check_bob_records(recs, tag):
    by = {r.get("yi"): r for r in recs}
    c = by["carol"]
    want = {"fn": "Carol", "ln": "O'Neil & <Sons>", "nn": "Caz \"the\" =+", "hp": "+1 555 0100",
            "wp": "+44 20 7946 0000", "mo": "+33 6 00 00 00 00", "em": "carol@example.com"}
    for k, v in want.items():
        assert c.get(k) == v, "%s: carol %s=%r, want %r (%r)" % (tag, k, c.get(k), v, c)
    d = by["dave"]
    assert d["fn"] == "D\u00e9sir\u00e9 \u4e2d\u6587 \U0001F600" and "nn" not in d and "ln" not in d, (tag, d)
    assert by[None]["fn"] == "No" and by[None]["hp"] == "123", (tag, recs)
    for r in recs:
        assert r["id"].isdigit() and 0 < int(r["id"]) < 2 ** 31, (tag, r)
    assert len({r["id"] for r in recs}) == len(recs), "ids are distinct"
    return by


def test_flex_sync_then_yab_over_http_and_https():
    with YabServer() as t:
        book = bob_book()
        assert flex_login_sync(t.srv.http_port, "bob", book) == book
        y, tt, _ = t.cookies("bob")
        for tls in (False, True):
            st, ctype, xml = t.yab("GET", FETCH, cookie_header(y, tt), tls=tls)
            assert st == 200 and ctype.startswith("text/xml"), (st, ctype, xml)
            assert xml.startswith(b'<?xml version="1.0" encoding="utf-8"?>'), xml[:60]
            assert b"+" not in xml and b"&gt;" not in xml, "libyahoo2 reads '+' as ' ' and &gt; as '<': %r" % xml
            by = check_bob_records(records(xml), "tls" if tls else "http")
            # libyahoo2's reader sees the same entries with its own attribute names
            ly = {r.get("yi"): r for r in libyahoo2_records(xml)}
            assert ly["carol"]["nn"] == "Caz \"the\" =+" and ly["carol"]["hphone"] == "+1 555 0100" and \
                ly["carol"]["wphone"] == "+44 20 7946 0000" and ly["carol"]["mphone"] == "+33 6 00 00 00 00", ly
            assert ly["carol"]["id"] == by["carol"]["id"] and ly["carol"]["e0"] == "carol@example.com", ly
        # the same ids on every fetch, and after the Flex client re-sends its list in another order
        _, _, again = t.yab("GET", FETCH, cookie_header(y, tt))
        assert again == xml
        ids = {r.get("yi"): r["id"] for r in records(xml)}
        reordered = External("flex.messaging.io.ArrayCollection", list(reversed(book.value)))
        flex_login_sync(t.srv.http_port, "bob", reordered)
        _, _, xml2 = t.yab("GET", FETCH, cookie_header(y, tt))
        assert {r.get("yi"): r["id"] for r in records(xml2)} == ids, "ids survive a re-sync in another order"


def test_amf0_sync_name_split_and_other_users():
    with YabServer() as t:
        c = Client(t.srv.http_port)
        ok, v, _ = c.call("Phonebook.login", "alice", "pw-alice")
        assert ok and v is True
        alist = [{"yahooId": "bob", "name": "Robert Tables", "phone": "555"},      # the seed's DataGrid shape
                 {"yahooId": "carol", "name": "Cher"}]
        ok, v, _ = c.call("Phonebook.sync", alist)
        assert ok
        y, tt, _ = t.cookies("alice")
        st, _, xml = t.yab("GET", FETCH, cookie_header(y, tt), tls=True)
        by = {r["yi"]: r for r in records(xml)}
        assert st == 200 and by["bob"]["fn"] == "Robert" and by["bob"]["ln"] == "Tables" and by["bob"]["hp"] == "555", by
        assert by["carol"]["fn"] == "Cher" and "ln" not in by["carol"], by
        # carol's cookies see carol's (empty) book, never alice's
        cy, ct, _ = t.cookies("carol")
        st, _, cx = t.yab("GET", FETCH, cookie_header(cy, ct))
        assert st == 200 and records(cx) == [] and b"Tables" not in cx, cx
        # wrong, mixed, missing cookies: an error and no data
        for bad in (cookie_header(y, ct), cookie_header(cy, tt), cookie_header("v=1&n=guess", tt), "Y=%s" % y, None):
            st, _, data = t.yab("GET", FETCH, bad)
            assert st == 403 and b"Tables" not in data and b"<ct" not in data, (bad, st, data)


def pidgin_edit(k, yi, ident, alias):
    return ("<?xml version=\"1.0\" encoding=\"utf-8\"?><ab k=\"%s\" cc=\"1\">\n"
            "<ct e=\"1\"  yi='%s' id='%s' nn='%s' pr='0' />\n</ab>\r\n" % (k, yi, ident, alias)).encode()


def pidgin_add(k, yi, alias):
    return ("<?xml version=\"1.0\" encoding=\"utf-8\"?><ab k=\"%s\" cc=\"9\">\n"
            "<ct a=\"1\" yi='%s' nn='%s' />\n</ab>\r\n" % (k, yi, alias)).encode()


def test_post_edit_and_add_reach_the_phonebook_byte_for_byte():
    with YabServer() as t:
        book = bob_book()
        flex_login_sync(t.srv.http_port, "bob", book)
        y, tt, _ = t.cookies("bob")
        ck = cookie_header(y, tt)
        _, _, xml = t.yab("GET", FETCH, ck)
        cid = {r.get("yi"): r["id"] for r in records(xml)}["carol"]
        st, _, ans = t.yab("POST", UPDATE, ck, pidgin_edit("bob", "carol", cid, "Caroline &amp; co"))
        assert st == 200, (st, ans)
        recs = records(ans)
        assert len(recs) == 1 and recs[0]["id"] == cid and recs[0]["nn"] == "Caroline & co", ans
        # the AMF view: the entry's nickname changed, every other member and the class untouched
        book.value[0].members["nickname"] = "Caroline & co"
        assert flex_login_sync(t.srv.http_port, "bob", None) == book
        assert t.blob("bob") == b"\x03" + encode3(book), "stored bytes = independent AMF3 encoding of the edited book"
        # add: a yi not in the book appends an entry with yahooId and nickname
        st, _, ans = t.yab("POST", UPDATE, ck, pidgin_add("bob", "erin", "Erin"))
        recs = records(ans)
        assert st == 200 and len(recs) == 1 and recs[0]["yi"] == "erin" and recs[0]["nn"] == "Erin" and recs[0]["id"], ans
        got = flex_login_sync(t.srv.http_port, "bob", None)
        assert got.value[:3] == book.value and len(got.value) == 4, got
        added = got.value[3]
        assert added == {"yahooId": "erin", "nickname": "Erin"}, added    # an anonymous object
        # an add for a yi already in the book edits that entry instead of doubling it
        st, _, ans = t.yab("POST", UPDATE, ck, pidgin_add("bob", "carol", "C"))
        assert st == 200 and records(ans)[0]["id"] == cid, ans
        _, _, xml = t.yab("GET", FETCH, ck)
        assert [r.get("yi") for r in records(xml)].count("carol") == 1
        # AMF0: alice's anonymous objects, nickname appended as the last member
        c = Client(t.srv.http_port)
        c.call("Phonebook.login", "alice", "pw-alice")
        alist = [{"yahooId": "bob", "firstName": "Bob", "n": 1.5}]
        c.call("Phonebook.sync", alist)
        ay, at, _ = t.cookies("alice")
        _, _, ax = t.yab("GET", FETCH, cookie_header(ay, at))
        bid = records(ax)[0]["id"]
        st, _, _ = t.yab("POST", UPDATE, cookie_header(ay, at), pidgin_edit("alice", "bob", bid, "Bobby"))
        assert st == 200
        alist[0]["nickname"] = "Bobby"
        ok, v, raw = c.call("Phonebook.sync")
        assert ok and raw == encode0(alist) and t.blob("alice") == b"\x00" + encode0(alist), (v, t.blob("alice"))


def test_hostile_posts_change_nothing():
    with YabServer(extra=["--yab-max-value", "256", "--yab-max-records", "4"]) as t:
        flex_login_sync(t.srv.http_port, "bob", bob_book())
        y, tt, _ = t.cookies("bob")
        ck = cookie_header(y, tt)
        cy, ct, _ = t.cookies("carol")
        before = t.blob("bob")
        _, _, xml = t.yab("GET", FETCH, ck)
        cid = {r.get("yi"): r["id"] for r in records(xml)}["carol"]
        laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
                  b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                           for i in range(1, 10)) +
                  b']><ab k="bob"><ct e="1" yi="carol" id="%s" nn="&lol9;"/></ab>' % cid.encode())
        cases = {
            "billion laughs": (ck, laughs, 400),
            "external entity": (ck, b'<?xml version="1.0"?><!DOCTYPE ab SYSTEM "file:///etc/passwd"><ab k="bob"/>', 400),
            "undeclared entity": (ck, pidgin_edit("bob", "carol", cid, "&xxe;"), 400),
            "huge attribute": (ck, pidgin_edit("bob", "carol", cid, "A" * 5000), 400),
            "too many records": (ck, b'<ab k="bob">' + b'<ct a="1" yi="x%d" nn="n"/>' * 5 % (1, 2, 3, 4, 5) + b"</ab>", 400),
            "not UTF-8": (ck, pidgin_edit("bob", "carol", cid, "x").replace(b"nn='x'", b"nn='\xff\xfe'"), 400),
            "not XML": (ck, b"<ab k='bob'><ct e='1' id='1'", 400),
            "other root": (ck, b'<html k="bob"/>', 400),
            "unknown id": (ck, pidgin_edit("bob", "carol", "1", "x"), 400),
            "id of another yi": (ck, pidgin_edit("bob", "dave", cid, "x"), 400),
            "half good": (ck, b'<ab k="bob"><ct e="1" yi="carol" id="%s" nn="ok"/><ct e="1" id="99"/></ab>' % cid.encode(), 400),
            "another user's k=": (ck, pidgin_edit("carol", "carol", cid, "x"), 403),
            "carol's cookies, bob's k=": (cookie_header(cy, ct), pidgin_edit("bob", "carol", cid, "x"), 403),
            "wrong cookies": (cookie_header("v=1&n=nope", tt), pidgin_edit("bob", "carol", cid, "x"), 403),
            "no cookies": (None, pidgin_edit("bob", "carol", cid, "x"), 403),
            "over yab_max_body": (ck, b"<ab k='bob'>" + b" " * (70 << 10) + b"</ab>", 413),
            "10 MB body": (ck, b"<ab k='bob'>" + b" " * (10 << 20) + b"</ab>", 413),
        }
        for name, (cookie, body, want) in cases.items():
            try:
                st, _, ans = t.yab("POST", UPDATE, cookie, body)
            except (ConnectionError, http.client.HTTPException):
                st, ans = 413, b"(closed while sending)"    # evhttp may close before reading a 10 MB body
            assert st == want, "%s: %d %r (want %d)" % (name, st, ans[:200], want)
            assert b"<ct" not in ans, (name, ans[:200])
            assert t.blob("bob") == before, "%s changed bob's phonebook" % name
            assert t.blob("carol") is None, "%s wrote carol's phonebook" % name
        st, _, xml2 = t.yab("GET", FETCH, ck)
        assert st == 200 and xml2 == xml, "the address book is as before"
        log = t.srv.log_text()
        assert log.count("event=yab_refused") >= len(cases) - 2, "each refusal is logged once"


def test_cookie_validity_and_revocation():
    with YabServer(extra=["--crumb-lifetime", "2"]) as t:
        flex_login_sync(t.srv.http_port, "bob", bob_book())
        # the pager login spends the crumb; the cookies stay good for the address book
        y, tt, f = t.cookies("bob")
        from ymsgd_harness import Client as Ymsg, resp307
        p = Ymsg(t.srv.ymsg_port)
        p.send(0x57, [(1, "bob")])
        chal = p.expect(0x57).get(94)
        p.send(0x54, [(1, "bob"), (0, "bob"), (277, f["Y"]), (278, f["T"]), (307, resp307(f["crumb"], chal)),
                      (244, "4194239"), (2, "bob"), (2, "1"), (98, "us")])
        p.until_list_done()
        st, _, xml = t.yab("GET", FETCH, cookie_header(y, tt))
        assert st == 200 and b'yi="carol"' in xml, (st, xml)
        # the same cookies in a second pager login: refused, and from then on dead for the web too
        q = Ymsg(t.srv.ymsg_port)
        q.send(0x57, [(1, "bob")])
        chal = q.expect(0x57).get(94)
        q.send(0x54, [(1, "bob"), (0, "bob"), (277, f["Y"]), (278, f["T"]), (307, resp307(f["crumb"], chal))])
        r = q.recv(3)
        assert r is not None and r.service == 0x54, r
        assert t.yab("GET", FETCH, cookie_header(y, tt))[0] == 403, "replayed cookies still read the book"
        # expiry (crumb_lifetime = 2 s here)
        y2, t2, _ = t.cookies("bob")
        assert t.yab("GET", FETCH, cookie_header(y2, t2))[0] == 200
        import time
        time.sleep(2.5)
        assert t.yab("GET", FETCH, cookie_header(y2, t2))[0] == 403, "expired cookies still read the book"
        # revocation: `ymsgd user passwd` ends them
        y3, t3, _ = t.cookies("bob")
        assert t.yab("GET", FETCH, cookie_header(y3, t3))[0] == 200
        r = subprocess.run(t.srv.base_args() + ["user", "passwd", "bob"], input=b"new-pw\n", capture_output=True, timeout=30)
        assert r.returncode == 0, r.stderr
        st, _, data = t.yab("GET", FETCH, cookie_header(y3, t3))
        assert st == 403 and b"<ct" not in data, "revoked cookies still read the book"


def test_first_start_demo_phonebook():
    """`make run`'s first start: demo's phonebook lists demo2, and the banner says where to see it."""
    d = tempfile.mkdtemp(prefix="yab-demo-")
    srv = Server(YMSGD, data_dir=d)
    try:
        srv.start()
        out = "".join(srv.proc.stdout.readline().decode() for _ in range(5))
        pw = {l.split()[1]: l.split()[3] for l in out.splitlines() if l.strip().startswith("user ")}
        assert set(pw) == {"demo", "demo2"} and "/phonebook/" in out and "demo2" in out, out
        body = srv.token("demo", pw["demo"])
        code, f, _ = srv.cookies(body.split("\r\n")[1].split("=", 1)[1])
        st, _, xml = yab_request(srv.http_port, None, "GET", FETCH,
                                 cookie_header(f["Y"].split(";")[0], f["T"].split(";")[0]))
        recs = records(xml)
        assert st == 200 and len(recs) == 1, xml
        r = recs[0]
        assert (r["yi"], r["fn"], r["ln"], r["nn"], r["hp"]) == ("demo2", "Demo", "Buddy", "My demo buddy", "+1 555 0100"), r
        c = Client(srv.http_port)
        ok, v, _ = c.call("Phonebook.login", "demo", pw["demo"])
        ok, v, _ = c.call("Phonebook.sync")
        assert ok and len(v) == 1 and v[0].class_name == "PhoneEntry" and v[0].members["name"] == "Demo Buddy", v
    finally:
        srv.stop()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    run_tests([test_flex_sync_then_yab_over_http_and_https, test_amf0_sync_name_split_and_other_users,
               test_post_edit_and_add_reach_the_phonebook_byte_for_byte, test_hostile_posts_change_nothing,
               test_cookie_validity_and_revocation, test_first_start_demo_phonebook])
