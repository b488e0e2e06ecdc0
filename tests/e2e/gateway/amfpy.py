"""A small independent AMF0/AMF3 codec and Flash Remoting envelope for the gateway tests (stdlib only).

Written from the format description (shared/reference/AMF.md), not from libamf, so the end-to-end
tests check ymsgd against a second implementation.  Value model:
  None = null, UNDEFINED, bool, int, float, str, list (dense array), dict (anonymous dynamic object),
  Typed(class_name, members, sealed=[names]) , Date(ms), bytes (AMF3 ByteArray),
  External(class_name, value) (ArrayCollection/ArrayList/ObjectProxy), AVM(value) (AMF0 0x11 wrapper),
  Ecma(dict) (AMF0 ECMA array).
"""
import struct


class _Undefined:
    def __repr__(self):
        return "UNDEFINED"


UNDEFINED = _Undefined()


class Typed:
    def __init__(self, class_name, members, sealed=None, dynamic=False):
        self.class_name = class_name
        self.members = dict(members)
        self.sealed = list(sealed) if sealed is not None else list(members.keys())
        self.dynamic = dynamic

    def __eq__(self, o):
        return isinstance(o, Typed) and o.class_name == self.class_name and o.members == self.members

    def __repr__(self):
        return "Typed(%r, %r)" % (self.class_name, self.members)


class Date:
    def __init__(self, ms):
        self.ms = float(ms)

    def __eq__(self, o):
        return isinstance(o, Date) and o.ms == self.ms

    def __repr__(self):
        return "Date(%r)" % self.ms


class External:
    def __init__(self, class_name, value):
        self.class_name = class_name
        self.value = value

    def __eq__(self, o):
        return isinstance(o, External) and o.class_name == self.class_name and o.value == self.value

    def __repr__(self):
        return "External(%r, %r)" % (self.class_name, self.value)


class AVM:
    def __init__(self, value):
        self.value = value


class Ecma(dict):
    pass


class DecodeError(Exception):
    pass


# ------------------------------------------------------------------------------------------------ AMF3

def u29(n):
    if n < 0 or n > 0x1FFFFFFF:
        raise ValueError("u29 out of range")
    if n < 0x80:
        return bytes([n])
    if n < 0x4000:
        return bytes([(n >> 7) | 0x80, n & 0x7F])
    if n < 0x200000:
        return bytes([(n >> 14) | 0x80, ((n >> 7) & 0x7F) | 0x80, n & 0x7F])
    return bytes([(n >> 22) | 0x80, ((n >> 15) & 0x7F) | 0x80, ((n >> 8) & 0x7F) | 0x80, n & 0xFF])


class Enc3:
    def __init__(self):
        self.strings = {}
        self.traits = {}
        self.objects = {}
        self.out = bytearray()

    def string(self, s):
        b = s.encode("utf-8")
        if not b:
            self.out += b"\x01"
            return
        if s in self.strings:
            self.out += u29(self.strings[s] << 1)
            return
        self.strings[s] = len(self.strings)
        self.out += u29(len(b) << 1 | 1) + b

    def _ref(self, v):
        if id(v) in self.objects:
            self.out += u29(self.objects[id(v)][0] << 1)
            return True
        self.objects[id(v)] = (len(self.objects), v)  # keep v alive so ids stay unique
        return False

    def value(self, v):
        o = self.out
        if v is UNDEFINED:
            o += b"\x00"
        elif v is None:
            o += b"\x01"
        elif v is True:
            o += b"\x03"
        elif v is False:
            o += b"\x02"
        elif isinstance(v, int) and -(1 << 28) <= v < (1 << 28):
            o += b"\x04" + u29(v & 0x1FFFFFFF)
        elif isinstance(v, (int, float)):
            o += b"\x05" + struct.pack(">d", float(v))
        elif isinstance(v, str):
            o += b"\x06"
            self.string(v)
        elif isinstance(v, Date):
            o += b"\x08"
            if not self._ref(v):
                o += b"\x01" + struct.pack(">d", v.ms)
        elif isinstance(v, (bytes, bytearray)):
            o += b"\x0c"
            if not self._ref(v):
                o += u29(len(v) << 1 | 1) + bytes(v)
        elif isinstance(v, list):
            o += b"\x09"
            if not self._ref(v):
                o += u29(len(v) << 1 | 1) + b"\x01"
                for x in v:
                    self.value(x)
        elif isinstance(v, External):
            o += b"\x0a"
            if not self._ref(v):
                key = ("ext", v.class_name)
                if key in self.traits:
                    o += u29(self.traits[key] << 2 | 1)
                else:
                    self.traits[key] = len(self.traits)
                    o += b"\x07"
                    self.string(v.class_name)
                self.value(v.value)
        elif isinstance(v, Typed):
            o += b"\x0a"
            if not self._ref(v):
                key = (v.class_name, tuple(v.sealed), v.dynamic)
                if key in self.traits:
                    o += u29(self.traits[key] << 2 | 1)
                else:
                    self.traits[key] = len(self.traits)
                    o += u29(len(v.sealed) << 4 | (0x08 if v.dynamic else 0) | 0x03)
                    self.string(v.class_name)
                    for n in v.sealed:
                        self.string(n)
                for n in v.sealed:
                    self.value(v.members.get(n))
                if v.dynamic:
                    for k, x in v.members.items():
                        if k not in v.sealed:
                            self.string(k)
                            self.value(x)
                    o += b"\x01"
        elif isinstance(v, dict):
            o += b"\x0a"
            if not self._ref(v):
                key = ("", (), True)
                if key in self.traits:
                    o += u29(self.traits[key] << 2 | 1)
                else:
                    self.traits[key] = len(self.traits)
                    o += b"\x0b\x01"
                for k, x in v.items():
                    self.string(k)
                    self.value(x)
                o += b"\x01"
        else:
            raise TypeError("cannot encode %r" % (v,))


def encode3(v):
    e = Enc3()
    e.value(v)
    return bytes(e.out)


class Dec:
    """Reads AMF0 (with 0x11 switching to AMF3) and AMF3 from a buffer."""

    def __init__(self, buf, pos=0):
        self.b = bytes(buf)
        self.p = pos
        self.reset3()
        self.refs0 = []

    def reset3(self):
        self.strings, self.objects, self.traits = [], [], []

    def take(self, n):
        if self.p + n > len(self.b):
            raise DecodeError("truncated at %d" % self.p)
        r = self.b[self.p:self.p + n]
        self.p += n
        return r

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def dbl(self):
        return struct.unpack(">d", self.take(8))[0]

    def utf(self):
        return self.take(self.u16()).decode("utf-8")

    # AMF3
    def u29(self):
        n = 0
        for i in range(4):
            c = self.u8()
            if i == 3:
                return (n << 8) | c
            n = (n << 7) | (c & 0x7F)
            if not c & 0x80:
                return n
        return n

    def str3(self):
        h = self.u29()
        if not h & 1:
            return self.strings[h >> 1]
        s = self.take(h >> 1).decode("utf-8")
        if s:
            self.strings.append(s)
        return s

    def v3(self):
        m = self.u8()
        if m == 0x00:
            return UNDEFINED
        if m == 0x01:
            return None
        if m == 0x02:
            return False
        if m == 0x03:
            return True
        if m == 0x04:
            n = self.u29()
            return n - (1 << 29) if n & 0x10000000 else n
        if m == 0x05:
            return self.dbl()
        if m == 0x06:
            return self.str3()
        if m in (0x07, 0x0B, 0x08, 0x0C, 0x09, 0x0A):
            h = self.u29()
            if not h & 1:
                return self.objects[h >> 1]
            if m in (0x07, 0x0B):
                v = self.take(h >> 1).decode("utf-8")
                self.objects.append(v)
                return v
            if m == 0x08:
                v = Date(self.dbl())
                self.objects.append(v)
                return v
            if m == 0x0C:
                v = self.take(h >> 1)
                self.objects.append(v)
                return v
            if m == 0x09:
                dense = h >> 1
                assoc = {}
                v = []
                self.objects.append(v)
                while True:
                    k = self.str3()
                    if k == "":
                        break
                    assoc[k] = self.v3()
                for _ in range(dense):
                    v.append(self.v3())
                if assoc:
                    d = dict(assoc)
                    for i, x in enumerate(v):
                        d[str(i)] = x
                    self.objects[self.objects.index(v)] = d
                    return d
                return v
            # object
            if not h & 2:
                tr = self.traits[h >> 2]
            elif h & 4:
                tr = ("ext", self.str3(), [], False)
                self.traits.append(tr)
            else:
                cn = self.str3()
                sealed = [self.str3() for _ in range(h >> 4)]
                tr = ("obj", cn, sealed, bool(h & 8))
                self.traits.append(tr)
            kind, cn, sealed, dyn = tr
            if kind == "ext":
                slot = len(self.objects)
                self.objects.append(None)
                if cn in ("flex.messaging.io.ArrayCollection", "flex.messaging.io.ArrayList",
                          "flex.messaging.io.ObjectProxy", "mx.utils.ObjectProxy"):
                    v = External(cn, self.v3())
                elif cn in ("DSK", "DSA", "DSC"):
                    v = External(cn, self.small(cn))
                else:
                    raise DecodeError("unknown externalizable class %s" % cn)
                self.objects[slot] = v
                return v
            if cn:
                v = Typed(cn, {}, sealed, dyn)
                members = v.members
            else:
                v = members = {}
            self.objects.append(v)
            for n in sealed:
                members[n] = self.v3()
            if dyn:
                while True:
                    k = self.str3()
                    if k == "":
                        break
                    members[k] = self.v3()
            return v
        raise DecodeError("AMF3 marker 0x%02x at %d" % (m, self.p - 1))

    def small(self, cn):
        names = [["body", "clientId", "destination", "headers", "messageId", "timestamp", "timeToLive"],
                 ["clientIdBytes", "messageIdBytes"]]
        out = {}

        def level(tables):
            flags = []
            while True:
                f = self.u8()
                flags.append(f)
                if not f & 0x80:
                    break
            for i, f in enumerate(flags):
                known = tables[i] if i < len(tables) else []
                for bit in range(7):
                    if f & (1 << bit):
                        val = self.v3()
                        if bit < len(known):
                            out[known[bit]] = val

        level(names)
        level([["correlationId", "correlationIdBytes"]])
        if cn == "DSC":
            level([["operation"]])
        return out

    # AMF0
    def v0(self):
        m = self.u8()
        if m == 0x00:
            return self.dbl()
        if m == 0x01:
            return self.u8() != 0
        if m == 0x02:
            return self.utf()
        if m in (0x03, 0x10, 0x08):
            if m == 0x10:
                v = Typed(self.utf(), {}, [], True)
                members = v.members
            elif m == 0x08:
                self.u32()
                v = members = Ecma()
            else:
                v = members = {}
            self.refs0.append(v)
            while True:
                k = self.utf()
                if k == "":
                    if self.u8() != 0x09:
                        raise DecodeError("bad object end")
                    break
                members[k] = self.v0()
            if isinstance(v, Typed):
                v.sealed = []
            return v
        if m == 0x05:
            return None
        if m == 0x06:
            return UNDEFINED
        if m == 0x07:
            return self.refs0[self.u16()]
        if m == 0x0A:
            n = self.u32()
            v = []
            self.refs0.append(v)
            for _ in range(n):
                v.append(self.v0())
            return v
        if m == 0x0B:
            ms = self.dbl()
            self.u16()
            return Date(ms)
        if m in (0x0C, 0x0F):
            return self.take(self.u32()).decode("utf-8")
        if m == 0x11:
            return self.v3()
        raise DecodeError("AMF0 marker 0x%02x at %d" % (m, self.p - 1))


def encode0(v):
    o = bytearray()
    if isinstance(v, AVM):
        return b"\x11" + encode3(v.value)
    if v is None:
        o += b"\x05"
    elif v is UNDEFINED:
        o += b"\x06"
    elif isinstance(v, bool):
        o += b"\x01" + (b"\x01" if v else b"\x00")
    elif isinstance(v, (int, float)):
        o += b"\x00" + struct.pack(">d", float(v))
    elif isinstance(v, str):
        b = v.encode("utf-8")
        o += (b"\x02" + struct.pack(">H", len(b)) if len(b) < 65536 else b"\x0c" + struct.pack(">I", len(b))) + b
    elif isinstance(v, Date):
        o += b"\x0b" + struct.pack(">d", v.ms) + b"\x00\x00"
    elif isinstance(v, list):
        o += b"\x0a" + struct.pack(">I", len(v))
        for x in v:
            o += encode0(x)
    elif isinstance(v, Typed):
        cn = v.class_name.encode()
        o += b"\x10" + struct.pack(">H", len(cn)) + cn
        for k, x in v.members.items():
            kb = k.encode()
            o += struct.pack(">H", len(kb)) + kb + encode0(x)
        o += b"\x00\x00\x09"
    elif isinstance(v, Ecma):
        o += b"\x08" + struct.pack(">I", len(v))
        for k, x in v.items():
            kb = k.encode()
            o += struct.pack(">H", len(kb)) + kb + encode0(x)
        o += b"\x00\x00\x09"
    elif isinstance(v, dict):
        o += b"\x03"
        for k, x in v.items():
            kb = k.encode()
            o += struct.pack(">H", len(kb)) + kb + encode0(x)
        o += b"\x00\x00\x09"
    else:
        raise TypeError("cannot encode %r in AMF0" % (v,))
    return bytes(o)


# ------------------------------------------------------------------------------------------------ envelope

def packet(bodies, headers=(), version=0):
    """bodies: [(target, response, value_bytes)], headers: [(name, must_understand, value_bytes)]"""
    o = bytearray(struct.pack(">HH", version, len(headers)))
    for name, mu, vb in headers:
        nb = name.encode()
        o += struct.pack(">H", len(nb)) + nb + bytes([mu]) + struct.pack(">I", len(vb)) + vb
    o += struct.pack(">H", len(bodies))
    for t, r, vb in bodies:
        tb, rb = t.encode(), r.encode()
        o += struct.pack(">H", len(tb)) + tb + struct.pack(">H", len(rb)) + rb + struct.pack(">I", len(vb)) + vb
    return bytes(o)


def parse_packet(buf):
    """Returns (version, headers [(name, mu, value)], bodies [(target, response, value, raw_value_bytes)])."""
    d = Dec(buf)
    version = d.u16()
    headers = []
    for _ in range(d.u16()):
        name = d.utf()
        mu = d.u8()
        d.u32()
        d.refs0 = []
        d.reset3()
        headers.append((name, mu, d.v0()))
    bodies = []
    for _ in range(d.u16()):
        t = d.utf()
        r = d.utf()
        d.u32()
        d.refs0 = []
        d.reset3()
        start = d.p
        v = d.v0()
        bodies.append((t, r, v, buf[start:d.p]))
    if d.p != len(buf):
        raise DecodeError("%d trailing bytes" % (len(buf) - d.p))
    return version, headers, bodies


def remoting_message(operation, args, message_id, dsid="nil", source=None, destination="api", headers=None):
    h = {"DSEndpoint": "api", "DSId": dsid}
    if headers:
        h.update(headers)
    return Typed("flex.messaging.messages.RemotingMessage", {
        "operation": operation, "source": source, "destination": destination, "timeToLive": 0,
        "headers": h, "timestamp": 0, "messageId": message_id, "body": args, "clientId": None})


def command_message(op, message_id, body=None, dsid="nil"):
    return Typed("flex.messaging.messages.CommandMessage", {
        "operation": op, "correlationId": "", "messageId": message_id, "clientId": None,
        "body": {} if body is None else body, "timeToLive": 0, "timestamp": 0, "destination": "",
        "headers": {"DSMessagingVersion": 1, "DSId": dsid}})


def flex_request(msgs):
    """One envelope (version 3) with a body per message: target "null", response "/N"."""
    return packet([("null", "/%d" % (i + 1), encode0([AVM(m)])) for i, m in enumerate(msgs)], version=3)
