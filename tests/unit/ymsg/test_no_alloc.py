#!/usr/bin/env python3
"""The codec promises no allocation per packet (ymsg.h: "Nothing is allocated"): the objects of the
wire codec must not reference the allocator at all.  Checks the undefined symbols of each codec object
in libymsg.a with nm.  Usage: test_no_alloc.py PATH/TO/libymsg.a"""
import shutil
import subprocess
import sys

CODEC = ("frame.c.o", "kv.c.o", "builder.c.o", "format.c.o", "errors.c.o", "tables.c.o")
ALLOC = {"malloc", "calloc", "realloc", "free", "strdup", "strndup", "reallocarray", "posix_memalign",
         "aligned_alloc", "asprintf", "vasprintf"}


def main():
    nm = shutil.which("nm") or shutil.which("llvm-nm")
    if not nm:
        print("nm not found")
        return 77  # meson: skipped
    out = subprocess.run([nm, "-u", "-A", sys.argv[1]], capture_output=True, text=True, check=True).stdout
    seen, bad = set(), []
    for line in out.splitlines():
        # "libymsg.a:frame.c.o:                 U memcpy"
        parts = line.split(":")
        if len(parts) < 3:
            continue
        obj = parts[1].strip()
        if not obj.endswith(CODEC):
            continue
        seen.add(obj.rsplit("/", 1)[-1])
        sym = parts[-1].split()[-1].split("@")[0]
        if sym in ALLOC:
            bad.append(f"{obj}: {sym}")
    missing = [o for o in ("frame.c.o", "kv.c.o", "builder.c.o") if not any(s.endswith(o) for s in seen)]
    if missing:
        print("objects not found in the archive:", missing)
        return 1
    if bad:
        print("codec objects reference the allocator:\n  " + "\n  ".join(bad))
        return 1
    print(f"ok: {len(seen)} codec objects, no allocator references")
    return 0


if __name__ == "__main__":
    sys.exit(main())
