#!/usr/bin/env python3
"""`meson install --destdir TMP` and what it puts there (issue 13, install layout):

  layout    the four programs, every man page of the tree, both libraries shared (SONAME) and static,
            their headers and .pc files, only the public API exported, the web assets when built, the
            example config listing every knob of `ymsgd --help` and reading back as it was written,
            the unit, sysusers and logrotate files
  consumer  tests/install/consumer.c built against the installed libraries with nothing but pkg-config
            (PKG_CONFIG_SYSROOT_DIR into TMP), linked shared and static, and run
  unit      the installed ymsgd.service through `systemd-analyze verify` (no warning allowed) and
            `systemd-analyze security --offline` (exposure at most 2.5)

usage: test_install.py MESON BUILD_ROOT SOURCE_ROOT CC [CFLAG...] -- TEST...
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

args = sys.argv[1:]
sep = args.index("--")
MESON, BUILD, SRC, CC = [os.path.abspath(a) if i < 3 else a for i, a in enumerate(args[:4])]
CFLAGS = args[4:sep]   # the build's sanitizer flags: the installed libraries carry their instrumentation
TESTS = args[sep + 1:]
PUBLIC = {"libymsg": ("ymsg_", "include/ymsg/ymsg.h"), "libamf": ("amf_", "include/amf/amf.h")}


def fail(msg):
    raise AssertionError(msg)


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=kw.pop("timeout", 120), **kw)
    if r.returncode != 0:
        fail("%s exited %d:\n%s%s" % (" ".join(cmd), r.returncode, r.stdout[-3000:], r.stderr[-3000:]))
    return r


def introspect(what):
    import json
    return json.loads(run([MESON, "introspect", what, BUILD]).stdout)


def install(dest):
    run([MESON, "install", "-C", BUILD, "--destdir", dest, "--no-rebuild", "--quiet"], timeout=300)
    opts = {o["name"]: o["value"] for o in introspect("--buildoptions")}
    prefix = opts["prefix"]
    root = dest + prefix
    return opts, root, os.path.join(root, opts["libdir"])


def optdir(dest, opts, name, *rest):
    """Where option directory `name` (relative to the prefix, or absolute like /etc) lands under dest."""
    d = opts[name]
    return os.path.join(dest + d if os.path.isabs(d) else os.path.join(dest + opts["prefix"], d), *rest)


def header_functions(prefix, header):
    """Function names a public header declares (the same reading as dist/exports.py)."""
    text = open(os.path.join(SRC, header), encoding="utf-8").read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"^\s*#[^\n]*(\\\n[^\n]*)*", " ", text, flags=re.M)
    text = re.sub(r"\(\s*\*\s*\w+\s*\)", " ", text)
    return {n for n in re.findall(r"(?<!\w)(" + prefix + r"\w*)\s*\(", text) if not n.endswith("_")}


def test_layout():
    with tempfile.TemporaryDirectory(prefix="ymsg-install-") as dest:
        opts, root, libdir = install(dest)
        bindir = os.path.join(root, opts["bindir"])
        for prog in ("ymsgd", "ymsg", "amfcall", "ymsgdump"):
            p = os.path.join(bindir, prog)
            if not os.access(p, os.X_OK):
                fail("program not installed: %s" % p)
            v = run([p, "--version"]).stdout
            if prog not in v:
                fail("%s --version: %r" % (prog, v))
        # every man page in the source tree is installed into its section
        mandir = os.path.join(root, opts["mandir"])
        pages = [p for p in glob.glob(os.path.join(SRC, "**", "*.[1-8]"), recursive=True)
                 if "/build" not in p[len(SRC):] and "node_modules" not in p and "/tests/" not in p]
        names = sorted(os.path.basename(p) for p in pages)
        for n in ("ymsgd.8", "ymsg.1", "amfcall.1", "ymsgdump.1"):
            if n not in names:
                fail("man page %s not found in the source tree (%s)" % (n, names))
        for n in names:
            if not os.path.isfile(os.path.join(mandir, "man" + n[-1], n)):
                fail("man page not installed: %s" % n)
        # libraries: shared with SONAME .so.0, static, headers, .pc; only the public API exported
        for lib, (prefix, header) in PUBLIC.items():
            so = os.path.join(libdir, lib + ".so")
            for f in (so, so + ".0", os.path.join(libdir, lib + ".a"),
                      os.path.join(root, opts["includedir"], header.split("/", 1)[1]),
                      os.path.join(libdir, "pkgconfig", lib + ".pc")):
                if not os.path.exists(f):
                    fail("not installed: %s" % f)
            soname = re.search(r"SONAME\)\s+Library soname: \[(.*)\]", run(["readelf", "-d", so]).stdout)
            if not soname or soname.group(1) != lib + ".so.0":
                fail("%s: SONAME %r, expected %s.so.0" % (so, soname and soname.group(1), lib))
            exported = set()
            for line in run(["nm", "-D", "--defined-only", so]).stdout.splitlines():
                parts = line.split()
                if len(parts) == 3 and parts[1] in "TtDdBbRrVvWWiI":
                    exported.add(parts[2])
            public = header_functions(prefix, header)
            extra = sorted(exported - public)
            missing = sorted(public - exported)
            if extra:
                fail("%s exports what %s does not declare: %s" % (lib, header, extra[:20]))
            if missing:
                fail("%s lacks functions %s declares: %s" % (lib, header, missing[:20]))
            if len(public) < 20:
                fail("%s: only %d public functions found in %s" % (lib, len(public), header))
            # lib/common is inside, not a dependency: nothing of ours is NEEDED
            needed = re.findall(r"NEEDED\)\s+Shared library: \[(.*)\]", run(["readelf", "-d", so]).stdout)
            if any("common" in n or "ymsg" in n or "amf" in n for n in needed):
                fail("%s needs %s" % (so, needed))
        # the web assets go where ymsgd looks for them once installed, when they were built
        # (the pages are copied into the build tree even when the web build is off, e.g. in sanitizer
        # builds; only a built WebAssembly core means the apps were built and must be installed)
        www = os.path.join(BUILD, "web", "www")
        if os.path.isfile(os.path.join(www, "assets", "ymsg.wasm")):
            inst = os.path.join(root, opts["datadir"], "ymsg", "www")
            built = sorted(os.path.relpath(os.path.join(d, f), www) for d, _, fs in os.walk(www) for f in fs)
            for rel in built:
                if not os.path.isfile(os.path.join(inst, rel)):
                    fail("web asset not installed: %s (under %s)" % (rel, inst))
            paths = open(os.path.join(BUILD, "server", "http", "static_paths.h")).read()
            if '"%s"' % os.path.join(opts["prefix"], opts["datadir"], "ymsg", "www") not in paths:
                fail("ymsgd does not look for the web assets where they are installed:\n" + paths)
        # the config: every knob --help lists, once, with the installed data_dir set; it reads back
        conf = optdir(dest, opts, "sysconfdir", "ymsgd", "ymsgd.conf")
        example = os.path.join(root, opts["datadir"], "doc", "ymsg", "examples", "ymsgd.conf.example")
        ymsgd = os.path.join(bindir, "ymsgd")
        flags = re.findall(r"^  --([a-z0-9-]+) ", run([ymsgd, "--help"]).stdout, flags=re.M)
        knobs = [f.replace("-", "_") for f in flags if f not in ("config", "help", "version",
                                                                 "print-config-example")]
        if len(knobs) < 50:
            fail("only %d knobs in ymsgd --help" % len(knobs))
        for path in (conf, example):
            text = open(path).read()
            for k in knobs:
                n = len(re.findall(r"^#?%s = " % k, text, flags=re.M))
                if n != 1:
                    fail("%s: knob %s appears %d times" % (path, k, n))
            keys = re.findall(r"^#?([a-z0-9_]+) = ", text, flags=re.M)
            if sorted(keys) != sorted(knobs):
                fail("%s: keys %s are not --help's knobs" % (path, sorted(set(keys) ^ set(knobs))))
        state = optdir("", opts, "localstatedir", "lib", "ymsgd")
        active = re.findall(r"^([a-z0-9_]+) = (.*)$", open(conf).read(), flags=re.M)
        if active != [("data_dir", state)]:
            fail("%s: active lines %r, expected only data_dir = %s" % (conf, active, state))
        if re.findall(r"^[a-z]", open(example).read(), flags=re.M):
            fail("%s sets something" % example)
        again = run([ymsgd, "--config", conf, "--print-config-example"]).stdout
        if again != open(conf).read():
            fail("ymsgd --config %s --print-config-example does not reproduce it" % conf)
        for rel in (os.path.join("lib", "systemd", "system", "ymsgd.service"),
                    os.path.join("lib", "sysusers.d", "ymsgd.conf"),
                    optdir(dest, opts, "sysconfdir", "logrotate.d", "ymsgd")):
            if not os.path.isfile(os.path.join(root, rel)):
                fail("not installed: %s" % rel)
        # the logrotate snippet parses (logrotate --debug reads it and rotates nothing)
        lr = shutil.which("logrotate") or "/usr/sbin/logrotate"
        if not os.access(lr, os.X_OK):
            fail("logrotate not found (Debian package logrotate; scripts/deps.sh test)")
        snippet = optdir(dest, opts, "sysconfdir", "logrotate.d", "ymsgd")
        r = subprocess.run([lr, "--debug", "--state", os.path.join(dest, "logrotate.state"), snippet],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0 or "error:" in r.stdout + r.stderr or "rotating pattern: /var/log/ymsgd/" not in r.stderr:
            fail("logrotate --debug %s (rc %d):\n%s%s" % (snippet, r.returncode, r.stdout, r.stderr))
        print("layout: 4 programs, %d man pages, libymsg/libamf (%s), %d knobs in ymsgd.conf"
              % (len(names), ", ".join("%s %d functions" % (l, len(header_functions(*PUBLIC[l])))
                                      for l in PUBLIC), len(knobs)))


def pkgconf(dest, libdir, *a):
    env = dict(os.environ, PKG_CONFIG_PATH="", PKG_CONFIG_LIBDIR=os.path.join(libdir, "pkgconfig")
               + ":/usr/lib/x86_64-linux-gnu/pkgconfig:/usr/lib/pkgconfig:/usr/share/pkgconfig",
               PKG_CONFIG_SYSROOT_DIR=dest)
    return run(["pkg-config"] + list(a), env=env).stdout.split()


def test_consumer():
    with tempfile.TemporaryDirectory(prefix="ymsg-consumer-") as dest:
        opts, root, libdir = install(dest)
        src = os.path.join(SRC, "tests", "install", "consumer.c")
        cflags = pkgconf(dest, libdir, "--cflags", "libymsg", "libamf")
        if not any(f.startswith("-I" + dest) for f in cflags):
            fail("pkg-config --cflags does not point into the install tree: %r" % cflags)
        # shared: found through the installed .so symlink, run with the installed .so.0
        exe = os.path.join(dest, "consumer")
        run([CC, "-std=c11", "-Wall", "-Wextra", "-Werror"] + CFLAGS + cflags + [src, "-o", exe]
            + pkgconf(dest, libdir, "--libs", "libymsg", "libamf"))
        needed = re.findall(r"NEEDED\)\s+Shared library: \[(.*)\]", run(["readelf", "-d", exe]).stdout)
        if "libymsg.so.0" not in needed or "libamf.so.0" not in needed:
            fail("consumer is not linked to the shared libraries: %r" % needed)
        out = run([exe], env=dict(os.environ, LD_LIBRARY_PATH=libdir)).stdout
        if "ymsg: Message" not in out or "phone=555-1234" not in out:
            fail("consumer output: %r" % out)
        # static: the .a files, then what the .pc files name for static linking (Requires.private:
        # libcrypto, libcurl, linked shared here; Libs.private: -lcrypt, -lm).  pkg-config --static would
        # also expand libcurl's own private dependencies, which need -dev packages nobody installed.
        libs = pkgconf(dest, libdir, "--libs", "libymsg", "libamf")
        libs = [("-l:lib%s.a" % l[2:]) if l in ("-lymsg", "-lamf") else l for l in libs]
        if "-l:libymsg.a" not in libs or "-l:libamf.a" not in libs:
            fail("pkg-config --libs: %r" % libs)
        req = pkgconf(dest, libdir, "--print-requires-private", "libymsg", "libamf")
        if sorted(req) != ["libcrypto", "libcurl"]:
            fail("Requires.private: %r" % req)
        libs += pkgconf(dest, libdir, "--libs", *req)
        for lib in PUBLIC:
            pc = open(os.path.join(libdir, "pkgconfig", lib + ".pc")).read()
            m = re.search(r"^Libs.private: (.*)$", pc, flags=re.M)
            libs += m.group(1).split() if m else []
        exe_s = os.path.join(dest, "consumer-static")
        run([CC, "-std=c11", "-Wall", "-Wextra", "-Werror"] + CFLAGS + cflags + [src, "-o", exe_s] + libs)
        needed = re.findall(r"NEEDED\)\s+Shared library: \[(.*)\]", run(["readelf", "-d", exe_s]).stdout)
        if any(n.startswith(("libymsg", "libamf")) for n in needed):
            fail("static consumer still needs %r" % needed)
        out_s = run([exe_s]).stdout
        if out_s != out:
            fail("static consumer output %r differs from shared %r" % (out_s, out))
        print(out.strip())


def test_unit():
    if not shutil.which("systemd-analyze"):
        fail("systemd-analyze not found (Debian package systemd; scripts/deps.sh test)")
    with tempfile.TemporaryDirectory(prefix="ymsg-unit-") as dest:
        opts, root, libdir = install(dest)
        unit = os.path.join(root, "lib", "systemd", "system", "ymsgd.service")
        text = open(unit).read()
        exe = os.path.join(opts["prefix"], opts["bindir"], "ymsgd")
        m = re.search(r"^ExecStart=(\S+) --config (\S+)$", text, flags=re.M)
        if not m or m.group(1) != exe or m.group(2) != optdir("", opts, "sysconfdir", "ymsgd", "ymsgd.conf"):
            fail("ExecStart does not run the installed ymsgd with the installed config: %r" % (m and m.group(0)))
        if "Type=notify" not in text:
            fail("unit is not Type=notify")
        # systemd-analyze checks that ExecStart exists: point it at the copy in the install tree
        # (the one change), and MANPATH at the installed man pages so Documentation=man:ymsgd(8) resolves.
        d = os.path.join(dest, "units")
        os.mkdir(d)
        with open(os.path.join(d, "ymsgd.service"), "w") as f:
            f.write(text.replace("ExecStart=" + exe, "ExecStart=" + dest + exe))
        env = dict(os.environ, MANPATH=os.path.join(root, opts["mandir"]), SYSTEMD_LOG_COLOR="0")
        r = subprocess.run(["systemd-analyze", "verify", os.path.join(d, "ymsgd.service")], capture_output=True,
                           text=True, env=env, timeout=60)
        if r.returncode != 0 or r.stdout.strip() or r.stderr.strip():
            fail("systemd-analyze verify (rc %d):\n%s%s" % (r.returncode, r.stdout, r.stderr))
        r = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--threshold=25", "--no-pager",
                            os.path.join(d, "ymsgd.service")], capture_output=True, text=True, env=env, timeout=60)
        level = re.search(r"Overall exposure level for ymsgd.service: ([0-9.]+)", r.stdout)
        if r.returncode != 0 or not level:
            fail("systemd-analyze security (rc %d):\n%s%s" % (r.returncode, r.stdout[-3000:], r.stderr))
        print("unit: verify clean, exposure %s" % level.group(1))


failed = 0
for name in TESTS:
    try:
        globals()["test_" + name]()
        print("ok   %s" % name)
    except AssertionError as e:
        failed += 1
        print("FAIL %s: %s" % (name, e))
sys.exit(1 if failed else 0)
