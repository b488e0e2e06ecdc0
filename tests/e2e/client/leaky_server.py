"""A deliberately leaky YMSG16 server (token login over plain HTTP + pager), just enough for `ymsg` and
`ymsg probe` to sign in, built to commit the invisibility leaks of YMSG.md §8.2 so that the probe's
detectors can be shown to fire:
  * an invisible user is announced in STATUS_15 with 10=12 (presence leak);
  * going invisible sends 0x02 with an extra key 138 that a real sign-off lacks (fingerprint);
  * 0x4F / 0xBE / 0x4D / 0x4B / 0xFB / doodle messages are relayed to invisible users, and the server
    answers a 0x4F for an online (even invisible) user itself, as a client auto-reply would;
  * a message to an offline user gets a 0x14 "user is offline" reply, one to an invisible user nothing;
  * conference invitations and file offers: "not available" for an offline user, relayed to an invisible
    one (its sender gets nothing); a chat goto finds an invisible user's room.
Every user's list holds every other user in group "Friends".  Passwords are "pw-<name>".
Usage: leaky_server.py USERS...   prints "PAGER <port> HTTP <port>" and serves until killed."""
import base64
import hashlib
import socket
import struct
import sys
import threading
import time
import urllib.parse

SEP = b"\xc0\x80"
USERS = sys.argv[1:]
lock = threading.Lock()
sessions = {}      # user -> {"sock", "invisible"}
rooms = {}         # user -> the chat room it is in
crumbs = {}        # user -> crumb


def pkt(svc, status, pairs, sid=0x11223344):
    body = b"".join(str(k).encode() + SEP + (v if isinstance(v, bytes) else str(v).encode()) + SEP for k, v in pairs)
    return b"YMSG" + struct.pack(">HHHHII", 16, 0, len(body), svc, status, sid) + body


def parse(body):
    parts = body.split(SEP)
    return [(int(parts[i]), parts[i + 1]) for i in range(0, len(parts) - 1, 2)]


def get(pairs, k, default=b""):
    for kk, v in pairs:
        if kk == k:
            return v
    return default


def y64(b):
    return base64.b64encode(b).decode().replace("+", ".").replace("/", "_").replace("=", "-")


def send(user, data):
    s = sessions.get(user)
    if s:
        try:
            s["sock"].sendall(data)
        except OSError:
            pass


def broadcast(me, data):
    for u in list(sessions):
        if u != me:
            send(u, data)


def status_entry(u, code):
    return pkt(0xF0, 1, [(302, 315), (300, 315), (7, u), (10, code), (13, 1), (301, 315), (303, 315)])


def pager(conn):
    me = None
    chal = "leakyChallenge0123456789"
    buf = b""
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            buf += data
            while len(buf) >= 20:
                ln, svc, st = struct.unpack(">HHI", buf[8:16])
                if len(buf) < 20 + ln:
                    break
                pairs, buf = parse(buf[20:20 + ln]), buf[20 + ln:]
                with lock:
                    me = handle(conn, me, svc, st, pairs, chal)
    except OSError:
        pass
    finally:
        with lock:
            if me and sessions.get(me, {}).get("sock") is conn:
                del sessions[me]
                broadcast(me, pkt(0x02, 1, [(7, me)]))
        conn.close()


def handle(conn, me, svc, st, pairs, chal):
    if svc == 0x57:
        user = get(pairs, 1).decode()
        conn.sendall(pkt(0x57, 1, [(1, user), (94, chal), (13, 2)]))
        return None
    if svc == 0x54:
        user = get(pairs, 0).decode()
        want = y64(hashlib.md5((crumbs.get(user, "") + chal).encode()).digest())
        if user not in USERS or get(pairs, 307).decode() != want:
            conn.sendall(pkt(0x54, 0xFFFFFFFF, [(66, 13)]))
            return None
        old = sessions.get(user)
        if old:
            old["sock"].sendall(pkt(0x02, 0xFFFFFFFF, [(66, 42)]))
        invisible = st == 12
        sessions[user] = {"sock": conn, "invisible": invisible}
        others = [u for u in USERS if u != user]
        body = [(302, 318), (300, 318), (65, "Friends"), (302, 319)]
        for u in others:
            body += [(300, 319), (7, u), (301, 319)]
        body += [(303, 319), (301, 318), (303, 318)]
        conn.sendall(pkt(0xF1, 0, body))
        for u in others:
            s = sessions.get(u)
            if s:  # LEAK: invisible users are listed with their real code 12
                conn.sendall(status_entry(u, 12 if s["invisible"] else 0))
        broadcast(user, status_entry(user, 12 if invisible else 0))  # LEAK on an invisible login
        return user
    if not me:
        return None
    if svc == 0xC5:
        if get(pairs, 13) == b"2":
            sessions[me]["invisible"] = True
            broadcast(me, pkt(0x02, 1, [(7, me), (138, 1)]))  # LEAK: fingerprint
        else:
            sessions[me]["invisible"] = False
            broadcast(me, status_entry(me, 0))
    elif svc == 0xC6:
        if not sessions[me]["invisible"]:
            broadcast(me, pkt(0xC6, 1, [(7, me), (10, get(pairs, 10) or b"0"), (19, get(pairs, 19)), (13, 1)]))
    elif svc == 0x02:
        sessions.pop(me, None)
        rooms.pop(me, None)
        broadcast(me, pkt(0x02, 1, [(7, me)]))
        return None
    elif svc in (0x06, 0x4F, 0xBE, 0x4D, 0x4B, 0xFB):
        to = get(pairs, 5).decode()
        out = [(4, me)] + [(k, v) for k, v in pairs if k not in (1, 4)]
        if to == "full" and svc == 0x06:       # a recipient whose box is full: 0x06 status 2 "not sent"
            conn.sendall(pkt(0x06, 2, [(5, to), (16, "the recipient's message box is full")]))
        elif to in sessions:
            send(to, pkt(svc, 1, out))          # LEAK: no invisibility check at all
            if svc == 0x4F:                     # what a real client's auto-answer looks like
                conn.sendall(pkt(0x4F, 1, [(4, to), (5, me), (13, 1), (49, "PEERTOPEER")]))
        elif svc == 0x06:                       # LEAK: offline and invisible differ for the sender
            time.sleep(0.010)                   # LEAK: timing; storing an offline message costs more
            conn.sendall(pkt(0x14, 1, [(5, me), (14, "%s is not online" % to)]))
    elif svc == 0x18:                           # conference invitation (issue 14)
        room, to = get(pairs, 57), get(pairs, 52).decode()
        if to in sessions:                      # LEAK: an invisible invitee is simply invited
            send(to, pkt(0x18, 1, [(1, to), (50, me), (57, room), (58, get(pairs, 58)), (52, to), (13, 0)]))
        else:                                   # ... an offline one is "not available"
            conn.sendall(pkt(0x1A, 1, [(1, me), (54, to), (57, room), (14, "%s is not available" % to)]))
    elif svc == 0xDC and get(pairs, 222) == b"1":   # file offer
        to = get(pairs, 5).decode()
        if to in sessions:                      # LEAK: relayed to an invisible receiver, no answer
            send(to, pkt(0xDC, 1, [(4, me)] + [(k, v) for k, v in pairs if k not in (1, 4)]))
        else:
            conn.sendall(pkt(0xDC, 1, [(4, to), (5, me), (265, get(pairs, 265)), (222, 2), (16, "not online")]))
    elif svc == 0x96:
        conn.sendall(pkt(0x96, 1, [(1, me)]))
    elif svc == 0x98:
        rooms[me] = get(pairs, 104)
        conn.sendall(pkt(0x98, 1, [(1, me), (104, rooms[me]), (108, 1), (130, "x"), (109, me)]))
    elif svc in (0x9B, 0xA0):
        rooms.pop(me, None)
    elif svc == 0x97:                           # goto: LEAK, whoever asks finds an invisible user's room
        to = get(pairs, 109).decode()
        if to in rooms:
            conn.sendall(pkt(0x98, 1, [(1, me), (104, rooms[to]), (108, 1), (130, "x"), (109, to)]))
        else:
            conn.sendall(pkt(0x97, 0xFFFFFFFF, [(109, to)]))
    elif svc == 0x8A:
        conn.sendall(pkt(0x8A, 1, [(1, me)]))
    elif svc == 0x83:
        conn.sendall(pkt(0x83, 1, [(1, me), (7, get(pairs, 7)), (65, get(pairs, 65)), (66, 2)]))
    elif svc == 0x84:
        conn.sendall(pkt(0x84, 1, [(1, me), (7, get(pairs, 7)), (65, get(pairs, 65)), (66, 0)]))
    elif svc == 0x85:
        conn.sendall(pkt(0x85, 1, [(0, get(pairs, 7)), (1, me), (13, get(pairs, 13)), (66, 12)]))
    return me


def http(conn):
    try:
        req = b""
        while b"\r\n\r\n" not in req and len(req) < 65536:
            d = conn.recv(4096)
            if not d:
                return
            req += d
        target = req.split(b" ")[1].decode()
        url = urllib.parse.urlparse(target)
        q = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        headers = ""
        if url.path == "/config/pwtoken_get":
            user = q.get("login", "")
            body = "0\r\nymsgr=TOK%s\r\npartnerid=x" % user if user in USERS and q.get("passwd") == "pw-" + user else "1212"
        elif url.path == "/config/pwtoken_login" and q.get("token", "").startswith("TOK"):
            user = q["token"][3:]
            with lock:
                crumbs[user] = "crumb" + user
            headers = "Set-Cookie: Y=y%s; path=/\r\nSet-Cookie: T=t%s; path=/\r\nSet-Cookie: B=b; path=/\r\n" % (user, user)
            body = "0\r\ncrumb=crumb%s\r\nY=y%s\r\nT=t%s\r\ncookievalidfor=86400\r\n" % (user, user, user)
        else:
            body = "100"
        conn.sendall(("HTTP/1.1 200 OK\r\n%sContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                      % (headers, len(body), body)).encode())
    finally:
        conn.close()


def serve(sock, fn):
    while True:
        c, _ = sock.accept()
        threading.Thread(target=fn, args=(c,), daemon=True).start()


def main():
    ps, hs = socket.socket(), socket.socket()
    for s in (ps, hs):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(64)
    print("PAGER %d HTTP %d" % (ps.getsockname()[1], hs.getsockname()[1]), flush=True)
    threading.Thread(target=serve, args=(hs, http), daemon=True).start()
    serve(ps, pager)


if __name__ == "__main__":
    main()
