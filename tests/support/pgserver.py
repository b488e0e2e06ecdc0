#!/usr/bin/env python3
"""A throw-away PostgreSQL server for tests and local clusters (python3 stdlib only).

Debian's postgresql binaries (initdb, pg_ctl) build a cluster in a temp directory, listening on
127.0.0.1 at a free port and on a unix socket in that directory; stop() removes it all.  PostgreSQL
refuses to run as root, so as root every server command runs through `runuser -u postgres` and the
directory is handed to that user.  A missing binary raises PgError with the reason: the caller's test
then FAILS (never skips).

As a module:
    with PgServer() as pg:
        pg.create_db("t1")
        url = pg.url("t1")           # postgresql://postgres@127.0.0.1:PORT/t1
        pg.pause(); pg.resume()      # SIGSTOP / SIGCONT of the whole cluster (postmaster and backends)

From the command line:
    pgserver.py run [--db NAME] -- CMD ARGS...
        starts a server, creates database NAME (default ymsgd), runs CMD with YMSGD_TEST_PG set to its
        URL, stops the server and exits with CMD's exit code (a server that cannot start: exit 1).
    pgserver.py start --dir DIR [--db NAME]     prints the URL; the server keeps running
    pgserver.py stop --dir DIR                  stops it (the directory is left for the caller)
"""
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


class PgError(RuntimeError):
    pass


def find_bindir():
    """Directory with initdb/pg_ctl/postgres: $YMSGD_PG_BINDIR, Debian's /usr/lib/postgresql/N/bin
    (highest N), or PATH."""
    env = os.environ.get("YMSGD_PG_BINDIR")
    cands = [env] if env else []
    cands += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]) if
                    p.split("/")[-2].isdigit() else 0, reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        cands.append(os.path.dirname(on_path))
    for d in cands:
        if all(os.access(os.path.join(d, b), os.X_OK) for b in ("initdb", "pg_ctl", "postgres")):
            return d
    raise PgError("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: install Debian's "
                  "'postgresql' package (scripts/deps.sh test) or set YMSGD_PG_BINDIR")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class PgServer:
    """One PostgreSQL cluster in its own directory (a new temp directory unless dir is given)."""

    def __init__(self, dir=None):
        self.bindir = find_bindir()
        self.own_dir = dir is None
        self.dir = os.path.abspath(dir) if dir else tempfile.mkdtemp(prefix="ymsg-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = None
        self.as_root = os.geteuid() == 0
        if self.as_root:
            try:
                self.pw = pwd.getpwnam("postgres")
            except KeyError:
                raise PgError("running as root and there is no 'postgres' user to run PostgreSQL as "
                              "(Debian's postgresql package creates it)")

    def _cmd(self, argv):
        return (["runuser", "-u", "postgres", "--"] + argv) if self.as_root else argv

    def _run(self, argv, timeout=60):
        r = subprocess.run(self._cmd(argv), capture_output=True, timeout=timeout, cwd=self.dir)
        if r.returncode != 0:
            raise PgError("%s failed (%d): %s%s" % (os.path.basename(argv[0]), r.returncode,
                                                     r.stdout.decode(errors="replace")[-1500:],
                                                     r.stderr.decode(errors="replace")[-1500:]))
        return r

    INITDB_ARGS = ["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]

    def _initdb(self):
        """self.data as a fresh initdb made it.  initdb costs ~1 s of CPU and a test run starts ~80
        servers, so the first one keeps a pristine copy (per user and server binaries, under the temp
        directory) and the others copy it (cp -a keeps the owner and modes PostgreSQL checks)."""
        key = "%d-%s" % (os.geteuid(), self.bindir.strip("/").replace("/", "_"))
        tmpl = os.path.join(tempfile.gettempdir(), "ymsg-pg-template-" + key)
        if not os.path.exists(os.path.join(tmpl, "data", "PG_VERSION")):
            new = tempfile.mkdtemp(prefix="ymsg-pg-template-new-")
            try:
                if self.as_root:
                    os.chown(new, self.pw.pw_uid, self.pw.pw_gid)
                self._run([os.path.join(self.bindir, "initdb"), "-D", os.path.join(new, "data")] + self.INITDB_ARGS,
                          timeout=120)
                try:
                    os.rename(new, tmpl)  # another test's copy may have won: then it is used
                except OSError:
                    pass
            finally:
                shutil.rmtree(new, ignore_errors=True)
        r = subprocess.run(["cp", "-a", os.path.join(tmpl, "data"), self.data], capture_output=True, timeout=60)
        if r.returncode != 0 or not os.path.exists(os.path.join(self.data, "PG_VERSION")):
            shutil.rmtree(self.data, ignore_errors=True)  # a damaged template: fall back to initdb itself
            self._run([os.path.join(self.bindir, "initdb"), "-D", self.data] + self.INITDB_ARGS, timeout=120)

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        if self.as_root:
            os.chown(self.dir, self.pw.pw_uid, self.pw.pw_gid)
        os.chmod(self.dir, 0o700)
        if not os.path.exists(os.path.join(self.data, "PG_VERSION")):
            self._initdb()
        last = None
        for _ in range(5):  # a port taken between free_port() and the bind: try another
            self.port = free_port()
            opts = ("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                    "-c full_page_writes=off -c shared_buffers=16MB -c max_connections=100" % (self.port, self.dir))
            try:
                self._run([os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-l",
                           os.path.join(self.dir, "postgres.log"), "-w", "-t", "60", "-o", opts, "start"],
                          timeout=90)
                with open(os.path.join(self.dir, "port"), "w") as f:
                    f.write("%d\n" % self.port)
                return self
            except PgError as e:
                last = e
        raise PgError("PostgreSQL did not start: %s; log: %s" % (last, self.log_tail()))

    def log_tail(self, n=3000):
        try:
            return open(os.path.join(self.dir, "postgres.log"), errors="replace").read()[-n:]
        except OSError:
            return "(no log)"

    def url(self, db="postgres"):
        """A libpq URL over TCP loopback."""
        return "postgresql://postgres@127.0.0.1:%d/%s" % (self.port, db)

    def socket_url(self, db="postgres"):
        """A libpq URL over the unix socket in the server's directory."""
        return "postgresql:///%s?host=%s&port=%d&user=postgres" % (db, self.dir, self.port)

    def psql(self, sql, db="postgres"):
        """Runs SQL through psql (Debian's postgresql-client, a dependency of postgresql); returns the
        unaligned output."""
        psql = os.path.join(self.bindir, "psql")
        if not os.access(psql, os.X_OK):
            psql = shutil.which("psql") or psql
        r = subprocess.run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-d", self.url(db), "-c", sql],
                           capture_output=True, timeout=60)
        if r.returncode != 0:
            raise PgError("psql: %s" % r.stderr.decode(errors="replace"))
        return r.stdout.decode()

    def create_db(self, name):
        self.psql('CREATE DATABASE "%s"' % name)
        return self.url(name)

    def pids(self):
        """The postmaster and its children (backends, background workers)."""
        try:
            pm = int(open(os.path.join(self.data, "postmaster.pid")).readline())
        except (OSError, ValueError):
            return []
        out = [pm]
        for st in glob.glob("/proc/[0-9]*/stat"):
            try:
                f = open(st).read()
            except OSError:
                continue
            fields = f[f.rindex(")") + 2:].split()
            if int(fields[1]) == pm:
                out.append(int(st.split("/")[2]))
        return out

    def _signal_all(self, sig):
        for p in self.pids():
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass

    def pause(self):
        """Freezes the whole cluster (SIGSTOP): connections stay open, nothing answers."""
        self._signal_all(signal.SIGSTOP)

    def resume(self):
        self._signal_all(signal.SIGCONT)

    def stop(self, remove=None):
        self.resume()  # a stopped postmaster would never shut down
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            try:
                self._run([os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-m", "immediate", "-w", "-t", "30",
                           "stop"], timeout=60)
            except (PgError, subprocess.TimeoutExpired):
                self._signal_all(signal.SIGKILL)
        if remove if remove is not None else self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if exc[0] is not None:
            sys.stderr.write("postgres.log:\n%s\n" % self.log_tail())
        self.stop()


def _main(argv):
    if len(argv) >= 2 and argv[1] == "run":
        db = "ymsgd"
        rest = argv[2:]
        if rest[:1] == ["--db"]:
            db, rest = rest[1], rest[2:]
        if rest[:1] == ["--"]:
            rest = rest[1:]
        if not rest:
            sys.stderr.write("usage: pgserver.py run [--db NAME] -- CMD ARGS...\n")
            return 2
        try:
            pg = PgServer().start()
        except PgError as e:
            sys.stderr.write("FAIL: cannot run the test's PostgreSQL: %s\n" % e)
            return 1
        # meson's timeout sends SIGTERM: stop the server on the way out.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        try:
            url = pg.create_db(db)
            env = dict(os.environ, YMSGD_TEST_PG=url, YMSGD_TEST_PG_DIR=pg.dir)
            return subprocess.call(rest, env=env)
        finally:
            pg.stop()
    if len(argv) >= 4 and argv[1] in ("start", "stop") and argv[2] == "--dir":
        pg = PgServer(argv[3])
        if argv[1] == "stop":
            pg.stop(remove=False)
            return 0
        db = argv[5] if len(argv) >= 6 and argv[4] == "--db" else "ymsgd"
        try:
            pg.start()
            if db not in pg.psql("SELECT datname FROM pg_database").split():
                pg.create_db(db)
        except PgError as e:
            sys.stderr.write("pgserver: %s\n" % e)
            return 1
        print(pg.url(db))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
