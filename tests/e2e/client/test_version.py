"""Every program answers --version with the one version of the project (meson.build's project(version:))."""
import os
import subprocess
import sys


def main():
    want, programs = sys.argv[1], sys.argv[2:]
    if len(programs) != 5:
        raise SystemExit("FAIL: want ymsg, ymsgd, ymsgdump, amfcall, mkcapture; got %r" % programs)
    for p in programs:
        if not os.path.exists(p):
            raise SystemExit("FAIL: %s was not built" % p)
        r = subprocess.run([p, "--version"], capture_output=True, timeout=30)
        out = r.stdout.decode().strip()
        name = os.path.basename(p)
        if r.returncode != 0 or out != "%s %s" % (name, want):
            raise SystemExit("FAIL: %s --version: rc %d, %r (want %r)" % (p, r.returncode, out, "%s %s" % (name, want)))
        print(out)
    print("ok")


if __name__ == "__main__":
    main()
