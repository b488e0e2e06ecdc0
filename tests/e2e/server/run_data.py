#!/usr/bin/env python3
"""Wire-level data-file tests for ymsgd, in the spirit of curl's tests/data: each file lists the bytes a
client sends and the exact bytes expected back.  Usage: run_data.py YMSGD FILE...

Commands (one per line; '#' starts a comment):
  user NAME PASSWORD                 create an account before the server starts
  start                              start ymsgd (implicit before the first connect)
  connect C                          open YMSG connection C
  send C HEX...                      send raw bytes (hex, spaces ignored; {VAR} substituted as text)
  sendpkt C SERVICE STATUS K=V ...   send a packet built from pairs (values may hold {VAR})
  expect C HEX...                    the next packet on C must match exactly; placeholders:
                                       {SESSION}   4 bytes: captured on first use per connection, then must repeat
                                       {LEN}       2 bytes: must equal the real body length
                                       {CHAL}      bytes up to the next C0 80: captured as the challenge of C
                                       {ANY}       bytes up to the next C0 80, not checked
  silent C                           nothing arrives on C within 0.4 s
  closed C                           the server closes C
  token C NAME PASSWORD              HTTP token login with C's challenge: sets {Y} {T} {R307}
  http PATH -> HEX                   GET PATH (HTTP/1.1) and compare the raw body bytes exactly
"""
import os
import shlex
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ymsgd_harness import Client, Server, encode, http_get, resp307  # noqa: E402

SEP = b"\xc0\x80"


def parse_hex(text, variables):
    """Returns a list of bytes literals and placeholder names."""
    out, lit = [], ""
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "{":
            j = text.index("}", i)
            name = text[i + 1:j]
            if lit:
                out.append(bytes.fromhex(lit))
                lit = ""
            if name in variables:
                out.append(variables[name].encode() if isinstance(variables[name], str) else variables[name])
            else:
                out.append(name)
            i = j + 1
            continue
        if not ch.isspace():
            lit += ch
        i += 1
    if lit:
        out.append(bytes.fromhex(lit))
    return out


def match(parts, raw, conn_vars):
    pos = 0
    for k, part in enumerate(parts):
        if isinstance(part, bytes):
            if raw[pos:pos + len(part)] != part:
                return "mismatch at byte %d: expected %s, got %s" % (pos, part.hex(), raw[pos:pos + len(part)].hex())
            pos += len(part)
        elif part == "SESSION":
            got = raw[pos:pos + 4]
            if "SESSION" in conn_vars and conn_vars["SESSION"] != got:
                return "session id changed: %s then %s" % (conn_vars["SESSION"].hex(), got.hex())
            conn_vars["SESSION"] = got
            pos += 4
        elif part == "LEN":
            if int.from_bytes(raw[pos:pos + 2], "big") != len(raw) - 20:
                return "length field %d != body %d" % (int.from_bytes(raw[pos:pos + 2], "big"), len(raw) - 20)
            pos += 2
        elif part in ("CHAL", "ANY"):
            end = raw.find(SEP, pos)
            if end < 0:
                return "no separator after {%s}" % part
            if part == "CHAL":
                conn_vars["CHAL"] = raw[pos:end].decode()
            pos = end
        else:
            return "unknown placeholder {%s}" % part
    if pos != len(raw):
        return "%d unexpected trailing bytes: %s" % (len(raw) - pos, raw[pos:].hex())
    return None


def run_file(exe, path):
    srv = Server(exe)
    conns, cvars, variables = {}, {}, {}
    started = False
    try:
        for lineno, line in enumerate(open(path), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            words = line.split()
            cmd = words[0]
            where = "%s:%d" % (os.path.basename(path), lineno)
            if cmd == "user":
                srv.add_user(words[1], words[2])
                continue
            if not started and cmd != "start":
                srv.start()
                started = True
            if cmd == "start":
                if not started:
                    srv.start()
                    started = True
            elif cmd == "connect":
                conns[words[1]] = Client(srv.ymsg_port)
                cvars[words[1]] = {}
            elif cmd == "send":
                data = b"".join(p if isinstance(p, bytes) else b"" for p in
                                parse_hex(" ".join(words[2:]), dict(variables, **cvars[words[1]])))
                conns[words[1]].send_raw(data)
            elif cmd == "sendpkt":
                c = words[1]
                env = dict(variables, **{k: v for k, v in cvars[c].items() if k == "CHAL"})
                pairs = []
                for kv in shlex.split(line)[4:]:
                    k, v = kv.split("=", 1)
                    for name, val in env.items():
                        v = v.replace("{%s}" % name, val if isinstance(val, str) else val.decode())
                    pairs.append((int(k), v))
                sess = int.from_bytes(cvars[c].get("SESSION", b"\0\0\0\0"), "big")
                conns[c].send_raw(encode(int(words[2], 0), pairs, int(words[3], 0), sess))
            elif cmd == "expect":
                c = words[1]
                p = conns[c].recv(3.0)
                assert p is not None, "%s: nothing received on %s" % (where, c)
                err = match(parse_hex(" ".join(words[2:]), variables), p.raw, cvars[c])
                assert err is None, "%s: %s\n  got %s" % (where, err, p.raw.hex())
            elif cmd == "silent":
                p = conns[words[1]].recv(0.4)
                assert p is None, "%s: unexpected %r" % (where, p)
            elif cmd == "closed":
                assert conns[words[1]].closed(3), "%s: connection %s still open" % (where, words[1])
            elif cmd == "token":
                c, name, pw = words[1], words[2], words[3]
                chal = cvars[c]["CHAL"]
                body = srv.token(name, pw, chal)
                assert body.startswith("0\r\n"), "%s: pwtoken_get %r" % (where, body)
                code, f, _ = srv.cookies(body.split("\r\n")[1][6:])
                variables.update(Y=f["Y"], T=f["T"], R307=resp307(f["crumb"], chal))
            elif cmd == "http":
                target, _, want = line[5:].partition("->")
                _, _, raw, _ = http_get(srv.http_port, target.strip())
                exp = bytes.fromhex("".join(want.split()))
                assert raw == exp, "%s: body %r != %r" % (where, raw, exp)
            else:
                raise AssertionError("%s: unknown command %s" % (where, cmd))
    except Exception:
        srv.__exit__(*sys.exc_info())
        raise
    srv.__exit__(None, None, None)


def main():
    exe = os.path.abspath(sys.argv[1])
    failed = 0
    for path in sys.argv[2:]:
        try:
            run_file(exe, path)
            print("ok   %s" % os.path.basename(path))
        except AssertionError as e:
            failed += 1
            print("FAIL %s: %s" % (os.path.basename(path), e))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
