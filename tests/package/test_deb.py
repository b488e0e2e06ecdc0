#!/usr/bin/env python3
"""The Debian packages (issue 13): `dpkg-buildpackage -us -uc -b` on a copy of the source tree (the
checkout itself is never written to), then every .deb unpacked into one fresh directory tree with
`dpkg -x`, and the programs run from there: ymsgd from the ymsgd package (its packaged config, web
assets), two users logged in with the packaged ymsg client exchanging a message, and an outside program
built against the -dev package with pkg-config and run on the runtime library packages.

usage: test_deb.py SOURCE_ROOT CC
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

SRC = os.path.abspath(sys.argv[1])
CC = sys.argv[2]
sys.path.insert(0, os.path.join(SRC, "tests", "e2e", "server"))
sys.path.insert(0, os.path.join(SRC, "tests", "e2e", "client"))
from ymsgd_harness import free_port, http_get  # noqa: E402
from harness import Client, Listener  # noqa: E402

PACKAGES = ["ymsgd", "ymsg", "libymsg0", "libamf0", "libymsg-dev"]
MULTIARCH = subprocess.run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"], capture_output=True,
                           text=True).stdout.strip()


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def run(cmd, timeout=120, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if r.returncode != 0:
        fail("%s exited %d:\n%s\n%s" % (" ".join(cmd), r.returncode, r.stdout[-4000:], r.stderr[-4000:]))
    return r.stdout


def copy_source(dst):
    """The tracked tree without build directories, installed npm modules or logs."""
    def ignore(d, names):
        top = os.path.abspath(d) == SRC
        return [n for n in names if n in (".git", "node_modules", "__pycache__") or
                (top and (n.startswith("build") or n.endswith(".log") or n == "data"))]
    shutil.copytree(SRC, dst, symlinks=True, ignore=ignore)


def main():
    for tool in ("dpkg-buildpackage", "dh", "dpkg-deb", "fakeroot"):
        if not shutil.which(tool):
            fail("%s not found (Debian packages dpkg-dev, debhelper, fakeroot: scripts/deps.sh test)" % tool)
    version = re.search(r"^ymsg \(([^)]+)\)", open(os.path.join(SRC, "debian", "changelog")).read()).group(1)
    meson_version = re.search(r"version: '([^']+)'", open(os.path.join(SRC, "meson.build")).read()).group(1)
    if version != meson_version:
        fail("debian/changelog says %s, meson.build %s" % (version, meson_version))
    work = tempfile.mkdtemp(prefix="ymsg-deb-")
    try:
        src = os.path.join(work, "ymsg-" + version)
        copy_source(src)
        t0 = time.time()
        env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck parallel=2")
        run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, env=env, timeout=1500)
        print("dpkg-buildpackage: %.0fs" % (time.time() - t0))
        arch = run(["dpkg", "--print-architecture"]).strip()
        debs = {}
        for p in PACKAGES:
            path = os.path.join(work, "%s_%s_%s.deb" % (p, version, arch))
            if not os.path.isfile(path):
                fail("%s not built; %s has %s" % (path, work, sorted(os.listdir(work))))
            debs[p] = path
        # contents where they belong
        contents = {p: run(["dpkg-deb", "-c", d]) for p, d in debs.items()}
        expect = {"ymsgd": ["./usr/bin/ymsgd", "./etc/ymsgd/ymsgd.conf", "./lib/systemd/system/ymsgd.service",
                            "./usr/share/man/man8/ymsgd.8.gz", "./usr/share/ymsg/www/index.html",
                            "./usr/lib/sysusers.d/ymsgd.conf", "./etc/logrotate.d/ymsgd"],
                  "ymsg": ["./usr/bin/ymsg", "./usr/bin/amfcall", "./usr/bin/ymsgdump",
                           "./usr/share/man/man1/ymsg.1.gz", "./usr/share/man/man1/amfcall.1.gz"],
                  "libymsg0": ["./usr/lib/%s/libymsg.so.0" % MULTIARCH],
                  "libamf0": ["./usr/lib/%s/libamf.so.0" % MULTIARCH],
                  "libymsg-dev": ["./usr/include/ymsg/ymsg.h", "./usr/include/amf/amf.h",
                                  "./usr/lib/%s/libymsg.a" % MULTIARCH, "./usr/lib/%s/libamf.so" % MULTIARCH,
                                  "./usr/lib/%s/pkgconfig/libymsg.pc" % MULTIARCH]}
        for p, files in expect.items():
            for f in files:
                if not re.search(r" %s( ->|$)" % re.escape(f), contents[p], flags=re.M):
                    fail("%s lacks %s:\n%s" % (p, f, contents[p]))
        ctl = run(["dpkg-deb", "-e", debs["ymsgd"], os.path.join(work, "ymsgd.ctl")])
        postinst = open(os.path.join(work, "ymsgd.ctl", "postinst")).read()
        if "systemd-sysusers" not in postinst or "ymsgd.service" not in postinst:
            fail("ymsgd's postinst neither creates the user nor enables the service:\n" + postinst)
        conffiles = open(os.path.join(work, "ymsgd.ctl", "conffiles")).read()
        if "/etc/ymsgd/ymsgd.conf" not in conffiles:
            fail("/etc/ymsgd/ymsgd.conf is not a conffile: %r" % conffiles)
        del ctl
        if "libymsg0" not in run(["dpkg-deb", "-f", debs["libymsg-dev"], "Depends"]):
            fail("libymsg-dev does not depend on libymsg0")
        # one fresh tree holding every package
        root = os.path.join(work, "root")
        for d in debs.values():
            run(["dpkg", "-x", d, root])
        serve(root, work)
        consume(root, work)
        print("ok: %s built and run from %s" % (", ".join(PACKAGES), root))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def serve(root, work):
    ymsgd = os.path.join(root, "usr", "bin", "ymsgd")
    ymsg = os.path.join(root, "usr", "bin", "ymsg")
    data = os.path.join(work, "data")
    # the packaged config, with data_dir and the listeners moved to where a test may write and listen
    base = [ymsgd, "--config", os.path.join(root, "etc", "ymsgd", "ymsgd.conf"), "--data-dir", data,
            "--pwhash-opslimit", "1", "--pwhash-memlimit", "8192"]
    for u in ("alice", "bob"):
        run(base + ["user", "add", u], input="pw-%s\n" % u)
    port, http = free_port(), free_port()
    log = open(os.path.join(work, "ymsgd.log"), "w")
    proc = subprocess.Popen(base + ["--ymsg-listen", "127.0.0.1:%d" % port, "--http-listen", "127.0.0.1:%d" % http,
                                    "--web-root", os.path.join(root, "usr", "share", "ymsg", "www")],
                            stdout=log, stderr=subprocess.STDOUT)
    listener = None
    try:
        deadline = time.time() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    fail("packaged ymsgd did not start:\n" + open(os.path.join(work, "ymsgd.log")).read())
                time.sleep(0.1)
        status, _, _, body = http_get(http, "/", host="127.0.0.1")
        if " 200 " not in status or b"<html" not in body.lower():
            fail("GET / from the packaged web assets: %s %r" % (status, body[:200]))
        for u in ("alice", "bob"):
            with open(os.path.join(work, u + ".cred"), "w") as f:
                f.write("%s:pw-%s\n" % (u, u))
            os.chmod(os.path.join(work, u + ".cred"), 0o600)
        c = Client(ymsg, "127.0.0.1", port, http)
        listener = c.listen(os.path.join(work, "bob.cred"), "--timeout", "30")
        listener.wait(lambda e: e.get("event") == "buddy_list", 15, "bob logged in")
        rc, out, err = c.run(os.path.join(work, "alice.cred"), "send", "--to", "bob", "packaged hello")
        if rc != 0:
            fail("packaged ymsg send: %d %s %s" % (rc, out, err))
        ev = listener.wait(lambda e: e.get("event") == "message" and e.get("from") == "alice", 15, "the message")
        if ev.get("text") != "packaged hello" or ev.get("offline"):
            fail("bob got %r" % ev)
    finally:
        if listener:
            listener.stop()
        proc.terminate()
        rc = proc.wait(timeout=15)
        log.close()
    if rc != 0:
        fail("packaged ymsgd exited %d on SIGTERM:\n%s" % (rc, open(os.path.join(work, "ymsgd.log")).read()))


def consume(root, work):
    libdir = os.path.join(root, "usr", "lib", MULTIARCH)
    env = dict(os.environ, PKG_CONFIG_PATH="", PKG_CONFIG_SYSROOT_DIR=root,
               PKG_CONFIG_LIBDIR=os.path.join(libdir, "pkgconfig") + ":/usr/lib/%s/pkgconfig:/usr/share/pkgconfig"
               % MULTIARCH)
    flags = run(["pkg-config", "--cflags", "--libs", "libymsg", "libamf"], env=env).split()
    exe = os.path.join(work, "consumer")
    run([CC, "-std=c11", "-Wall", "-Wextra", "-Werror", os.path.join(SRC, "tests", "install", "consumer.c"),
         "-o", exe] + flags)
    out = run([exe], env=dict(os.environ, LD_LIBRARY_PATH=libdir))
    if "ymsg: Message" not in out or "phone=555-1234" not in out:
        fail("consumer against the packages: %r" % out)
    print(out.strip())


if __name__ == "__main__":
    main()
