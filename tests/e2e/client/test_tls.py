"""Token login over HTTPS: the client verifies the login server's certificate.  A throw-away CA and a
leaf for 127.0.0.1 are made with the openssl command; ymsgd serves HTTPS with the leaf.  With
--ca-file CA the login works; without it (system trust store) and with a CA that did not sign the
leaf it fails as a network failure (exit 3), never silently insecure."""
import os
import shutil
import subprocess
import sys

from harness import Client, Server, check, main


def make_ca(d, name):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/%s.key" % name,
                    "-out", d + "/%s.pem" % name, "-days", "2", "-subj", "/CN=ymsg test %s" % name],
                   check=True, capture_output=True)


def run(ymsg, ymsgd):
    if not shutil.which("openssl"):
        print("FAIL: the openssl command is not installed (scripts/deps.sh installs it)")
        sys.exit(1)
    import tempfile
    d = tempfile.mkdtemp(prefix="ymsg-tls-")
    make_ca(d, "ca")
    make_ca(d, "other")
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/leaf.key", "-out",
                    d + "/leaf.csr", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    with open(d + "/ext", "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    subprocess.run(["openssl", "x509", "-req", "-in", d + "/leaf.csr", "-CA", d + "/ca.pem", "-CAkey", d + "/ca.key",
                    "-CAcreateserial", "-out", d + "/leaf.pem", "-days", "2", "-extfile", d + "/ext"],
                   check=True, capture_output=True)
    srv = Server(ymsgd, ["alice"], tls=(d + "/leaf.pem", d + "/leaf.key"))
    try:
        c = Client(ymsg, "127.0.0.1", srv.port, srv.http, scheme="https")
        A = srv.cred("alice")
        rc, out, err = c.run(A, "--ca-file", d + "/ca.pem", "buddies", "--json")
        check(rc == 0 and '"user":"alice"' in out, "login with the right CA: %d %s" % (rc, err))
        rc, out, err = c.run(A, "buddies")
        check(rc == 3 and "certificate" in err.lower(), "system trust store must refuse: %d %s" % (rc, err))
        rc, out, err = c.run(A, "--ca-file", d + "/other.pem", "buddies")
        check(rc == 3, "a foreign CA must refuse: %d %s" % (rc, err))
    finally:
        srv.stop()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main(run)
