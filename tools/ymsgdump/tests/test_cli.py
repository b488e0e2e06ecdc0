#!/usr/bin/env python3
"""ymsgdump as a program: standard input (a pipe, which libpcap cannot seek), raw streams, JSON lines,
colour, and the exit statuses and messages for bad input and bad usage."""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

YD, MK = sys.argv[1], sys.argv[2]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what, file=sys.stderr)


def run(args, stdin=None, env=None):
    p = subprocess.run([YD] + args, input=stdin, capture_output=True, timeout=60, env=env)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def records(path):
    d = open(path, "rb").read()
    hdr, off, out = d[:24], 24, []
    while off < len(d):
        caplen = struct.unpack_from("<I", d, off + 8)[0]
        out.append(d[off:off + 16 + caplen])
        off += 16 + caplen
    return hdr, out


def main():
    work = tempfile.mkdtemp(prefix="ymsgdump-cli-")
    try:
        return checks(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def checks(work):
    sample = os.path.join(work, "sample.pcap")
    subprocess.run([MK, sample], check=True)
    data = open(sample, "rb").read()

    rc, out_file, err = run([sample])
    check(rc == 0 and err == "", "sample: rc %d, stderr %r" % (rc, err))
    check(out_file.count(b"\n#") + out_file.startswith(b"#") == 24, "sample: 24 packets")
    check(b"\x1b[" not in out_file, "no colour when stdout is not a terminal")
    rc, out_pipe, err = run(["-"], stdin=data)
    check(rc == 0 and out_pipe == out_file, "pcap from a pipe prints the same as from the file")
    rc, out_pipe, err = run([], stdin=data)
    check(rc == 0 and out_pipe == out_file, "no FILE means standard input")

    rc, out, err = run(["--json", sample])
    lines = out.decode().splitlines()
    check(rc == 0 and len(lines) == 24, "json: 24 lines")
    objs = [json.loads(l) for l in lines]
    check(all({"ts", "src", "dst", "dir", "service", "pairs"} <= o.keys() for o in objs), "json members")
    check(objs[0]["src"] == "127.0.0.1:40002" and objs[0]["dst"] == "127.0.0.1:5050"
          and objs[0]["dir"] == "client->server", "json: first packet from the client")
    check(objs[1]["dir"] == "server->client", "json: second packet from the server")

    # The client's byte stream, raw, on standard input.
    hdr, recs = records(sample)
    stream = b""
    for r in recs:
        ip = r[16 + 14:]
        tcp = ip[(ip[0] & 15) * 4:struct.unpack(">H", ip[2:4])[0]]
        if struct.unpack(">H", tcp[:2])[0] == 40002:
            stream += tcp[(tcp[12] >> 4) * 4:]
    rc, out, err = run(["--no-color"], stdin=stream)
    check(rc == 0 and out.startswith(b"#1 offset 0\nAUTH(0x57)"), "raw stream from stdin: %d %r" % (rc, err))
    rc, out, err = run(["--raw", "-"], stdin=b"junk" + stream)
    check(rc == 1 and "malformed YMSG packet at stream offset 0" in err, "--raw with leading junk: %d %r" % (rc, err))

    # A capture that ends inside a packet: the last segments and the FINs are missing.
    cut = os.path.join(work, "cut.pcap")
    m7 = os.path.join(work, "m7.pcap")
    subprocess.run([MK, "--mss", "7", m7], check=True)
    hdr, recs = records(m7)
    open(cut, "wb").write(hdr + b"".join(recs[:-6]))
    rc, out, err = run([cut])
    check(rc == 1 and "truncated YMSG packet at end of stream" in err, "cut capture: %d %r" % (rc, err))
    check(out.count(b"\n#") + 1 == 23, "cut capture: the 23 whole packets are printed")

    # A damaged capture file: the packets before the damage, status 2.
    rc, out, err = run(["-"], stdin=data[:3000])
    check(rc == 2 and "capture damaged at frame" in err and b"AUTH(0x57)" in out, "truncated file: %d %r" % (rc, err))

    for args, stdin, msg in [
        (["/nonexistent/x.pcap"], None, "No such file"),
        (["--bogus"], None, "usage:"),
        (["a", "b"], None, "usage:"),
        (["--max-body", "70000", sample], None, "bad value for --max-body"),
        (["--max-streams", "0", sample], None, "bad value for --max-streams"),
        (["--max-buffer", "x", sample], None, "bad value for --max-buffer"),
        ([], b"", "empty input"),
        ([], b"\x00\x01\x02\x03garbage", "not a pcap, pcapng or YMSG stream"),
    ]:
        rc, out, err = run(args, stdin=stdin if stdin is not None else b"")
        check(rc == 2 and msg in err, "%r: rc %d, %r" % (args, rc, err))

    rc, out, err = run(["--help"])
    check(rc == 0 and b"usage:" in out, "--help")
    rc, out, err = run(["--max-buffer", "64k", "--max-streams", "2", "--max-body", "65535", sample])
    check(rc == 0 and out == out_file, "knobs with suffixes, same output")

    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
