#!/usr/bin/env python3
"""Fails when the include graph of a source tree has a cycle: check_include_cycles.py DIR [DIR...]
(each DIR is checked on its own)

A module is a .c/.h pair (server/pager/im.c + im.h is module pager/im); a header with no .c (server.h,
a folder's internal.h) is not one: including it counts as including what it includes.  Module A depends on module B
when a file of A includes B's header with #include "..."; headers are found by name anywhere under the
given directories (the server's folders are all on the include path).  Self-includes and headers that
are not in the tree (<...>, libymsg's public header) are ignored.  Prints every cycle found (as a path
A -> B -> ... -> A) and exits 1; prints the module count and exits 0 when there is none."""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def modules(roots):
    files = {}       # module -> [paths]
    headers = {}     # header basename -> module
    for root in roots:
        for d, _, names in os.walk(root):
            for n in names:
                if not n.endswith((".c", ".h")):
                    continue
                path = os.path.join(d, n)
                mod = os.path.relpath(os.path.splitext(path)[0], os.path.dirname(root.rstrip("/")))
                files.setdefault(mod, []).append(path)
                if n.endswith(".h"):
                    if n in headers and headers[n] != mod:
                        sys.exit("ambiguous header name %s: %s and %s" % (n, headers[n], mod))
                    headers[n] = mod
    return files, headers


def graph(files, headers):
    """Module graph.  A header without a .c (server.h, a folder's internal.h) is not a module: whoever
    includes it depends on what it includes."""
    direct = {m: set() for m in files}
    for mod, paths in files.items():
        for p in paths:
            with open(p, encoding="utf-8", errors="replace") as f:
                for inc in INCLUDE.findall(f.read()):
                    dep = headers.get(os.path.basename(inc))
                    if dep and dep != mod:
                        direct[mod].add(dep)
    real = {m for m, paths in files.items() if any(p.endswith(".c") for p in paths)}

    def expand(m, seen):
        out = set()
        for d in direct[m]:
            if d in real:
                out.add(d)
            elif d not in seen:
                seen.add(d)
                out |= expand(d, seen)
        return out

    return {m: expand(m, {m}) - {m} for m in real}


def cycles(g):
    found, state, stack = [], {}, []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for d in sorted(g[m]):
            if state.get(d) == 1:
                found.append(stack[stack.index(d):] + [d])
            elif d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(g):
        if m not in state:
            visit(m)
    return found


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for r in sys.argv[1:]:
        if not os.path.isdir(r):
            sys.exit("no such directory: %s" % r)
    bad = 0
    for r in sys.argv[1:]:          # each tree on its own: lib/ and server/ are separate include paths
        files, headers = modules([r])
        g = graph(files, headers)
        found = cycles(g)
        for c in found:
            print("include cycle: " + " -> ".join(c))
        bad += len(found)
        print("%s: %d modules, %d include cycles" % (r, len(g), len(found)))
    if bad:
        sys.exit(1)


if __name__ == "__main__":
    main()
