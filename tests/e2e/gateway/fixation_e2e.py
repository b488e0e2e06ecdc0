#!/usr/bin/env python3
"""Issue 9 item 4 end to end: AMF session fixation through the DSId.

An attacker pings the gateway (getting a DSId and a cookie), makes a victim log in with that DSId, and
then tries to read and overwrite the victim's phonebook with the DSId alone (or the old cookie).  The
login must rotate the session's identity (cookie and DSId), and a session logged in by a client that
holds cookies must not be carried by its DSId alone.  Real Flex flows must keep working: a Flex
client keeps the DSId of its first ack for ever (FlexClient.id is only set while null) and sends the
cookies its browser holds; a cookie-less client follows the DSId of the login's ack.

usage: fixation_e2e.py YMSGD [TEST...]"""
import http.client
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "server"))
import amfpy  # noqa: E402
from amfpy import External, Typed  # noqa: E402
from ymsgd_harness import Server, run_tests  # noqa: E402

YMSGD = os.path.abspath(sys.argv[1])


class Flex:
    """A Flex-like client: an optional cookie jar (YMSGAMF) and a DSId."""

    def __init__(self, port, cookies=True):
        self.port = port
        self.jar = cookies
        self.cookie = None
        self.dsid = "nil"
        self.n = 0

    def send(self, msg):
        self.n += 1
        body = amfpy.flex_request([msg])
        h = {"Content-Type": "application/x-amf"}
        if self.cookie:
            h["Cookie"] = "YMSGAMF=" + self.cookie
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        c.request("POST", "/api.php", body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        assert r.status == 200, (r.status, data[:200])
        sc = r.getheader("Set-Cookie")
        if self.jar and sc and sc.startswith("YMSGAMF="):
            self.cookie = sc.split(";")[0].split("=", 1)[1]
        _, _, bodies = amfpy.parse_packet(data)
        target, _, value, _ = bodies[0]
        m = value.value if isinstance(value, External) else value
        fields = m if isinstance(m, dict) else m.members
        return target.endswith("/onResult"), fields

    def ping(self):
        ok, f = self.send(amfpy.command_message(5, "PING-%d" % self.n))
        assert ok
        self.dsid = f["headers"]["DSId"]
        return self.dsid

    def call(self, op, *args):
        return self.send(amfpy.remoting_message(op, list(args), "M-%d" % self.n, dsid=self.dsid))


def entry(name):
    return Typed("PhoneEntry", {"name": name, "phone": "+1 555 0100", "email": None}, ["name", "phone", "email"])


def not_logged_in(res):
    ok, f = res
    return not ok and f["faultCode"] == "Client.Authentication" and "not logged in" in f["faultString"]


def test_fixation_victim_with_cookies():
    """Before: the attacker's DSId alone read and overwrote the victim's phonebook."""
    with Server(YMSGD) as srv:
        srv.add_user("victim", "pw-victim")
        attacker = Flex(srv.http_port)
        d0 = attacker.ping()
        c0 = attacker.cookie
        victim = Flex(srv.http_port)
        victim.ping()                      # the victim's own browser session (it holds a cookie)
        victim.dsid = d0                   # ... but its SWF was made to use the attacker's DSId
        ok, f = victim.call("Phonebook.login", "victim", "pw-victim")
        assert ok and f["body"] is True, f
        assert f["headers"]["DSId"] != d0, "the DSId is rotated at login"
        ok, f = victim.call("Phonebook.sync", External("flex.messaging.io.ArrayCollection", [entry("Mum")]))
        assert ok, f                       # a real Flex client keeps its first DSId, with its cookie
        # the attacker: the DSId alone, the old cookie, both
        spy = Flex(srv.http_port, cookies=False)
        spy.dsid = d0
        assert not_logged_in(spy.call("Phonebook.sync")), "DSId alone must not read the phonebook"
        assert not_logged_in(spy.call("Phonebook.sync", [entry("Evil")])), "nor overwrite it"
        spy.cookie = c0
        assert not_logged_in(spy.call("Phonebook.sync")), "the pre-login cookie is dead"
        # even the new DSId (e.g. leaked from a log) is not enough without the cookie
        spy.cookie = None
        ok, f = victim.call("Phonebook.sync")
        spy.dsid = f["headers"]["DSId"]
        assert not_logged_in(spy.call("Phonebook.sync")), "a cookie-bound session needs its cookie"
        ok, f = victim.call("Phonebook.sync")
        assert ok and [e.members["name"] for e in f["body"].value] == ["Mum"], f
        assert "event=amf_dsid_without_cookie" in srv.log_text()


def test_fixation_victim_without_cookies():
    """A cookie-less client: the login's ack carries a new DSId, which it uses; the attacker's dies."""
    with Server(YMSGD) as srv:
        srv.add_user("victim", "pw-victim")
        attacker = Flex(srv.http_port, cookies=False)
        d0 = attacker.ping()
        victim = Flex(srv.http_port, cookies=False)
        victim.dsid = d0
        ok, f = victim.call("Phonebook.login", "victim", "pw-victim")
        assert ok, f
        d1 = f["headers"]["DSId"]
        assert d1 != d0 and len(d1) == 36
        victim.dsid = d1
        ok, f = victim.call("Phonebook.sync", [entry("Dad")])
        assert ok, f
        assert not_logged_in(attacker.call("Phonebook.sync")), "the attacker's DSId is dead"


if __name__ == "__main__":
    run_tests([test_fixation_victim_with_cookies, test_fixation_victim_without_cookies])
