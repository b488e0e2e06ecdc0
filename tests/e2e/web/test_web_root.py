#!/usr/bin/env python3
"""Where ymsgd serves the browser apps from (server/http/static.c): a copy of ymsgd that does not run
from its build tree (an installed or packaged one) must not serve that build tree's web/www, even when
it exists on the machine; --web-root always wins.  Usage: test_web_root.py YMSGD"""
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
from ymsgd_harness import Server, http_get, run_tests  # noqa: E402

YMSGD = os.path.abspath(sys.argv[1])
BUILD_WWW = os.path.join(os.path.dirname(os.path.dirname(YMSGD)), "web", "www")


def web_root_line(srv):
    """ymsgd's web root decision (logged as the HTTP routes register, which may be just after the
    harness saw the pager listening)."""
    deadline = time.time() + 10
    while True:
        lines = [l for l in srv.log_text().splitlines() if "event=web_root" in l]
        if lines:
            return lines[0]
        assert time.time() < deadline, "ymsgd logged no web root decision:\n" + srv.log_text()[-2000:]
        time.sleep(0.05)


def test_copy_outside_the_build_tree_ignores_it():
    d = tempfile.mkdtemp(prefix="ymsgd-copy-")
    try:
        exe = os.path.join(d, "ymsgd")
        shutil.copy2(YMSGD, exe)
        with Server(exe, []) as srv:
            line = web_root_line(srv)
            assert "event=web_root code=0 msg=\"%s\"" % BUILD_WWW not in line, line
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_web_root_option_wins():
    d = tempfile.mkdtemp(prefix="ymsgd-www-")
    try:
        os.makedirs(os.path.join(d, "assets"))
        with open(os.path.join(d, "index.html"), "w") as f:
            f.write("<!doctype html><title>mine</title>\n")
        with Server(YMSGD, ["--web-root", d]) as srv:
            line = web_root_line(srv)
            assert "event=web_root code=0 msg=\"%s\"" % d in line, line
            status, _, body, _ = http_get(srv.http_port, "/")
            assert " 200 " in status and b"<title>mine</title>" in body, (status, body[:200])
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    run_tests([test_copy_outside_the_build_tree_ignores_it, test_web_root_option_wins])
